/// One expansion of one word: a cursor over the word's UTF-8 bytes plus what the expansion
/// collects.
///
/// Every character with a meaning here (`$ { } : / ' " < \` …) is ASCII, and in UTF-8 no byte
/// of a multi-byte character is ever an ASCII byte, so the scanner compares bytes and only
/// decodes a character where its class matters (names, word-splitting whitespace, patterns).
/// Where upstream reads "the next character" (after an escape token, the operator of `${`),
/// the scanner takes the whole UTF-8 sequence.
///
/// The structure mirrors BuildKit's `shellWord`: ``scan(until:rawEscapes:)`` is
/// `processStopOn`, ``dollar(into:rawEscapes:)`` is `processDollar`, and so on, so that every
/// quirk falls out of the same control flow instead of being special-cased.
struct ShellWordScanner {
    private typealias Bytes = [UInt8]

    private let source: String
    private let text: Bytes
    private var position: Int
    /// The escape token's UTF-8 bytes (one byte for `\` and `` ` ``).
    private let escape: Bytes
    private let rawQuotes: Bool
    private let rawEscapes: Bool
    private let skipUnsetEnv: Bool
    private let processQuotes: Bool
    private let environment: [String: String]

    private let trackVariables: Bool
    private var matched: Set<String> = []
    private var unmatched: Set<String> = []

    /// Word splitting is done only for the outermost scan; nested scans (the word of
    /// `${V:-word}`, patterns) throw their words away.
    private let collectWords: Bool
    private var words: [String] = []
    /// The word being built. Upstream keeps one such buffer per lexer and every scan, nested
    /// ones included, starts by clearing it, so a `${V<op>…}` expansion drops the part of the
    /// current word written before it (`a${X:-b}c` splits to `["bc"]`). Replicated on purpose:
    /// heredoc detection must find exactly the words BuildKit finds.
    private var wordBuffer: Bytes = []

    /// How many `${…}` words are being read, one inside the other.
    private var depth = 0
    /// The scanner recurses once per level of `${…}` nesting, so the depth is bounded to keep
    /// any input from exhausting a thread's stack (real Dockerfiles nest two or three levels;
    /// BuildKit itself has no limit). A level costs about 6 KiB of stack unoptimised and 0.5 KiB
    /// optimised, so 32 levels fit in a 512 KiB thread stack with room to spare.
    static let maximumNesting = 32

    init(lexer: ShellLexer, source: String, environment: [String: String], trackVariables: Bool, collectWords: Bool) {
        self.source = source
        self.text = Array(source.utf8)
        // Go's text/scanner drops a byte order mark (U+FEFF) at the very start.
        self.position = text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        self.escape = Array(String(lexer.escapeToken).utf8)
        self.rawQuotes = lexer.rawQuotes
        self.rawEscapes = lexer.rawEscapes
        self.skipUnsetEnv = lexer.skipUnsetEnv
        self.processQuotes = !lexer.skipProcessQuotes
        self.environment = environment
        self.trackVariables = trackVariables
        self.collectWords = collectWords
    }

    /// Expands the whole word.
    mutating func run() throws(ShellError) -> ShellExpansion {
        do {
            let result = try scan(until: nil, rawEscapes: rawEscapes)
            return ShellExpansion(result: String(decoding: result, as: UTF8.self),
                                  matched: matched, unmatched: unmatched, words: words)
        } catch {
            throw ShellError("failed to process \(GoText.quoted(source)): \(error.message)")
        }
    }

    // MARK: - Cursor

    private var atEnd: Bool { position >= text.count }

    /// The byte at the cursor, nil at the end.
    private func peek() -> UInt8? {
        position < text.count ? text[position] : nil
    }

    /// The range of the character at the cursor (empty at the end).
    private func characterRange() -> Range<Int> {
        guard position < text.count else { return position..<position }
        return position..<min(text.count, position + utf8Length(lead: text[position]))
    }

    /// Consumes the character at the cursor and returns its bytes' range.
    private mutating func nextCharacter() -> Range<Int> {
        let range = characterRange()
        position = range.upperBound
        return range
    }

    private func escapeAt(_ index: Int) -> Bool {
        guard index < text.count, text[index] == escape[0] else { return false }
        return escape.count == 1 || text[index...].starts(with: escape)
    }

    // MARK: - Words

    /// Adds text whose whitespace separates words (literal input, unquoted expansions).
    private mutating func addSplitting(_ bytes: ArraySlice<UInt8>) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let lead = bytes[i]
            if lead < 0x80 {
                if isASCIISpace(lead) { flushWord() } else { wordBuffer.append(lead) }
                i += 1
            } else {
                let end = min(bytes.endIndex, i + utf8Length(lead: lead))
                if GoText.isSpace(decodeScalar(bytes[i..<end])) { flushWord() } else { wordBuffer.append(contentsOf: bytes[i..<end]) }
                i = end
            }
        }
    }

    private mutating func flushWord() {
        guard !wordBuffer.isEmpty else { return }
        words.append(String(decoding: wordBuffer, as: UTF8.self))
        wordBuffer.removeAll(keepingCapacity: true)
    }

    // MARK: - Scanning

    /// Processes text up to `stop` (consumed, not returned) or, with `stop == nil`, to the end.
    /// Reaching the end while looking for `stop` is an error.
    private mutating func scan(until stop: UInt8?, rawEscapes: Bool) throws(ShellError) -> Bytes {
        let splitting = collectWords && stop == nil
        if collectWords { wordBuffer.removeAll(keepingCapacity: true) }

        var result: Bytes = []
        result.reserveCapacity(text.count - position)
        while position < text.count {
            let ch = text[position]
            if let stop, ch == stop {
                position += 1
                return result
            }
            let start = result.count
            switch ch {
            case UInt8(ascii: "$"):
                try dollar(into: &result, rawEscapes: rawEscapes)
                if splitting { addSplitting(result[start...]) }
                continue
            case UInt8(ascii: "<"):
                possibleHeredoc(into: &result)
                if splitting { wordBuffer.append(contentsOf: result[start...]) }
                continue
            case UInt8(ascii: "'") where processQuotes:
                try singleQuoted(into: &result)
                if splitting { wordBuffer.append(contentsOf: result[start...]) }
                continue
            case UInt8(ascii: "\"") where processQuotes:
                try doubleQuoted(into: &result, rawEscapes: rawEscapes)
                if splitting { wordBuffer.append(contentsOf: result[start...]) }
                continue
            default:
                break
            }
            if escapeAt(position) {
                position += escape.count
                if rawEscapes {
                    result.append(contentsOf: escape)
                    if splitting { wordBuffer.append(contentsOf: escape) }
                }
                // The escape token makes the next character literal; at the very end it is dropped.
                if atEnd { break }
                let escaped = text[nextCharacter()]
                result.append(contentsOf: escaped)
                if splitting { wordBuffer.append(contentsOf: escaped) }
            } else if ch < 0x80 {
                position += 1
                result.append(ch)
                if splitting {
                    if isASCIISpace(ch) { flushWord() } else { wordBuffer.append(ch) }
                }
            } else {
                let character = text[nextCharacter()]
                result.append(contentsOf: character)
                if splitting { addSplitting(character) }
            }
        }
        if let stop {
            throw ShellError("unexpected end of statement while looking for matching \(Character(Unicode.Scalar(stop)))")
        }
        if splitting { flushWord() }
        return result
    }

    /// `<` at the cursor. `<<` takes the blanks after it (space, tab, CR) into the same word,
    /// so that `<< EOF` stays one word for heredoc detection. The text itself is unchanged.
    private mutating func possibleHeredoc(into result: inout Bytes) {
        position += 1
        result.append(UInt8(ascii: "<"))
        guard peek() == UInt8(ascii: "<") else { return }
        position += 1
        result.append(UInt8(ascii: "<"))
        while let ch = peek(), ch == UInt8(ascii: " ") || ch == UInt8(ascii: "\t") || ch == UInt8(ascii: "\r") {
            result.append(ch)
            position += 1
        }
    }

    /// `'…'`: everything literal up to the next `'`.
    private mutating func singleQuoted(into result: inout Bytes) throws(ShellError) {
        let quote = UInt8(ascii: "'")
        position += 1
        if rawQuotes { result.append(quote) }
        guard let close = text[position...].firstIndex(of: quote) else {
            position = text.count
            throw ShellError("unexpected end of statement while looking for matching single-quote")
        }
        result.append(contentsOf: text[position..<close])
        if rawQuotes { result.append(quote) }
        position = close + 1
    }

    /// `"…"`: variables expand; the escape token escapes only `"`, `$` and itself.
    private mutating func doubleQuoted(into result: inout Bytes, rawEscapes: Bool) throws(ShellError) {
        let quote = UInt8(ascii: "\"")
        position += 1
        if rawQuotes { result.append(quote) }
        while true {
            guard let ch = peek() else {
                throw ShellError("unexpected end of statement while looking for matching double-quote")
            }
            if ch == quote {
                position += 1
                if rawQuotes { result.append(quote) }
                return
            }
            if ch == UInt8(ascii: "$") {
                try dollar(into: &result, rawEscapes: rawEscapes)
                continue
            }
            guard escapeAt(position) else {
                result.append(contentsOf: text[nextCharacter()])
                continue
            }
            position += escape.count
            if rawEscapes { result.append(contentsOf: escape) }
            // At the end, the loop fails on the next turn.
            guard let following = peek() else { continue }
            if following == quote || following == UInt8(ascii: "$") || escapeAt(position) {
                result.append(contentsOf: text[nextCharacter()])
            } else {
                // The escape token is literal; in raw mode upstream writes it a second time
                // (`"a\b"` → `"a\\b"`). Kept.
                result.append(contentsOf: escape)
            }
        }
    }

    // MARK: - Variables

    private mutating func lookup(_ name: String) -> String? {
        let value = environment[name]
        if trackVariables {
            if value != nil { matched.insert(name) } else { unmatched.insert(name) }
        }
        return value
    }

    /// A name after `$` or `${`: digits only (positional), one special character, or
    /// letters/digits/`_`. Empty if none of these follows.
    private mutating func name() -> String {
        let start = position
        guard let first = peek() else { return "" }
        if characterIs(isGoDigit) {
            while characterIs(isGoDigit) { position = characterRange().upperBound }
        } else if isSpecialParameter(first) {
            position += 1
        } else {
            while characterIs({ $0 == "_" || isGoLetter($0) || isGoDigit($0) }) { position = characterRange().upperBound }
        }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    /// Whether the character at the cursor satisfies `test` (false at the end).
    private func characterIs(_ test: (Unicode.Scalar) -> Bool) -> Bool {
        guard let lead = peek() else { return false }
        if lead < 0x80 { return test(Unicode.Scalar(lead)) }
        return test(decodeScalar(text[characterRange()]))
    }

    /// `$…` at the cursor, expanded onto `result`.
    ///
    /// This and ``nested(until:rawEscapes:missing:)`` are the recursion of the scanner
    /// (`${V:-${W:-…}}`), so they keep few locals; the operators are applied in separate
    /// functions once the nested words have been read.
    private mutating func dollar(into result: inout Bytes, rawEscapes: Bool) throws(ShellError) {
        position += 1  // "$"
        guard peek() == UInt8(ascii: "{") else {
            simpleReference(into: &result)
            return
        }
        position += 1  // "{"
        switch peek() {
        case nil: throw ShellError("syntax error: missing '}'")
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ":"): throw ShellError("syntax error: bad substitution")
        default: break
        }
        let name = name()
        // The operator is whatever character follows the name.
        var op = operatorCharacter()
        switch op.byte {
        case UInt8(ascii: "}"):
            if let value = lookup(name) {
                result.append(contentsOf: value.utf8)
            } else if skipUnsetEnv {
                result.append(contentsOf: "${\(name)}".utf8)
            }
        case UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "%"):
            let nullIsUnset = op.byte == UInt8(ascii: ":")
            if nullIsUnset {
                let second = operatorCharacter()
                op = (second.byte, op.text + second.text)
            }
            let isPattern = op.byte == UInt8(ascii: "#") || op.byte == UInt8(ascii: "%")
            if nullIsUnset && isPattern {
                throw ShellError("unsupported modifier (\(op.text)) in substitution")
            }
            // Patterns keep their escapes so that `\*` reaches the matcher.
            let word = try nested(until: UInt8(ascii: "}"), rawEscapes: isPattern, missing: "syntax error: missing '}'")
            try applyModifier(op, nullIsUnset: nullIsUnset, name: name, word: word, into: &result)
        case UInt8(ascii: "/"):
            let replaceAll = peek() == UInt8(ascii: "/")
            if replaceAll { position += 1 }
            let pattern = try nested(until: UInt8(ascii: "/"), rawEscapes: true, missing: "syntax error: missing '/' in ${}")
            let replacement = try nested(until: UInt8(ascii: "}"), rawEscapes: true, missing: "syntax error: missing '}'")
            try applyReplacement(name: name, pattern: pattern, replacement: replacement, all: replaceAll, into: &result)
        default:
            throw ShellError("unsupported modifier (\(op.text)) in substitution")
        }
    }

    /// `$name`, `$1`, `$@`, or a lone `$`.
    @inline(never)
    private mutating func simpleReference(into result: inout Bytes) {
        let name = name()
        if name.isEmpty {
            result.append(UInt8(ascii: "$"))
        } else if let value = lookup(name) {
            result.append(contentsOf: value.utf8)
        } else if skipUnsetEnv {
            result.append(UInt8(ascii: "$"))
            result.append(contentsOf: name.utf8)
        }
    }

    /// `${name<op>word}` once `word` is read: `op.text` is the operator as written (`:-`, `#`, …),
    /// `op.byte` its last character.
    @inline(never)
    private mutating func applyModifier(_ op: (byte: UInt8?, text: String), nullIsUnset: Bool, name: String,
                                        word: Bytes, into result: inout Bytes) throws(ShellError) {
        let value = lookup(name)
        if value == nil && skipUnsetEnv {
            result.append(contentsOf: "${\(name)\(op.text)".utf8)
            result.append(contentsOf: word)
            result.append(UInt8(ascii: "}"))
            return
        }
        let unsetOrNull = value == nil || (nullIsUnset && value == "")

        switch op.byte {
        case UInt8(ascii: "-"):
            if unsetOrNull { result.append(contentsOf: word) } else { result.append(contentsOf: value!.utf8) }
        case UInt8(ascii: "+"):
            if !unsetOrNull { result.append(contentsOf: word) }
        case UInt8(ascii: "?"):
            if unsetOrNull {
                let message = word.isEmpty
                    ? (value == nil ? "is not allowed to be unset" : "is not allowed to be empty")
                    : String(decoding: word, as: UTF8.self)
                throw ShellError("\(name): \(message)")
            }
            result.append(contentsOf: value!.utf8)
        case UInt8(ascii: "#"), UInt8(ascii: "%"):
            // `##` / `%%`: the doubled operator is simply the first character of the
            // (already expanded) pattern.
            let greedy = word.first == op.byte
            let pattern = scalars(greedy ? word.dropFirst() : word[...])
            let subject = Array((value ?? "").unicodeScalars)
            let trimmed = op.byte == UInt8(ascii: "%")
                ? try ShellPattern.trimSuffix(pattern, from: subject, greedy: greedy)
                : try ShellPattern.trimPrefix(pattern, from: subject, greedy: greedy)
            appendScalars(trimmed, to: &result)
        default:
            throw ShellError("unsupported modifier (\(op.text)) in substitution")
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}` once both words are read.
    @inline(never)
    private mutating func applyReplacement(name: String, pattern: Bytes, replacement: Bytes, all: Bool,
                                           into result: inout Bytes) throws(ShellError) {
        guard let value = lookup(name) else {
            if skipUnsetEnv {
                result.append(contentsOf: "${\(name)/".utf8)
                result.append(contentsOf: pattern)
                result.append(UInt8(ascii: "/"))
                result.append(contentsOf: replacement)
                result.append(UInt8(ascii: "}"))
            }
            return
        }
        let patternScalars = scalars(pattern[...])
        let compiled = try ShellPattern.compile(patternScalars, greedy: true, describedAs: patternScalars)
        let subject = Array(value.unicodeScalars)
        let replaced = all
            ? compiled.replaceAll(in: subject, template: scalars(replacement[...]))
            : compiled.replaceFirst(in: subject, with: scalars(replacement[...]))
        appendScalars(replaced, to: &result)
    }

    /// Consumes the character after a name or `:` inside `${…}`: its byte if it is ASCII
    /// (nil otherwise, or at the end) and its text for messages (Go's `string(rune)`; the end
    /// of input is rune -1, printed as U+FFFD).
    private mutating func operatorCharacter() -> (byte: UInt8?, text: String) {
        guard !atEnd else { return (nil, "\u{FFFD}") }
        let range = nextCharacter()
        let byte = text[range.lowerBound]
        return (byte < 0x80 ? byte : nil, String(decoding: text[range], as: UTF8.self))
    }

    /// A nested scan inside `${…}`. A failure that ran to the end of the word is reported as
    /// `missing` (the unclosed `${`), any other failure as itself.
    private mutating func nested(until stop: UInt8, rawEscapes: Bool, missing: String) throws(ShellError) -> Bytes {
        guard depth < Self.maximumNesting else {
            throw ShellError("variable substitutions nested more than \(Self.maximumNesting) levels deep")
        }
        depth += 1
        defer { depth -= 1 }
        do {
            return try scan(until: stop, rawEscapes: rawEscapes)
        } catch {
            throw atEnd ? ShellError(missing) : error
        }
    }

    private func scalars(_ bytes: ArraySlice<UInt8>) -> [Unicode.Scalar] {
        Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
    }

    private func appendScalars<C: Collection>(_ scalars: C, to result: inout Bytes) where C.Element == Unicode.Scalar {
        for scalar in scalars { result.append(contentsOf: UTF8.encode(scalar)!) }
    }
}

// MARK: - UTF-8

/// The length of the UTF-8 sequence that starts with `lead` (the text is valid UTF-8).
@inline(__always)
func utf8Length(lead: UInt8) -> Int {
    switch lead {
    case 0..<0x80: return 1
    case 0xC0..<0xE0: return 2
    case 0xE0..<0xF0: return 3
    default: return 4
    }
}

/// The scalar encoded by one complete, valid UTF-8 sequence.
@inline(__always)
func decodeScalar(_ bytes: ArraySlice<UInt8>) -> Unicode.Scalar {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
    return "\u{FFFD}"
}

// MARK: - Character classes (Go's unicode package)

/// `unicode.IsSpace` for an ASCII byte: `\t \n \v \f \r` and space.
@inline(__always)
func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
}

/// `unicode.IsDigit`: decimal digits (category Nd).
@inline(__always)
func isGoDigit(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 { return scalar.value >= 0x30 && scalar.value <= 0x39 }
    return scalar.properties.generalCategory == .decimalNumber
}

/// `unicode.IsLetter`: categories Lu, Ll, Lt, Lm, Lo.
@inline(__always)
func isGoLetter(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x80 { return (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
}

/// POSIX special parameters (`$@`, `$*`, `$#`, `$?`, `$-`, `$$`, `$!`, `$0`).
@inline(__always)
private func isSpecialParameter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "@"), UInt8(ascii: "*"), UInt8(ascii: "#"), UInt8(ascii: "?"),
         UInt8(ascii: "-"), UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "0"): return true
    default: return false
    }
}

func scalarsToString<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return String(view)
}

