/// One expansion of one word: a cursor over the word's Unicode scalars (Go's `text/scanner`
/// reads runes, which are the same thing for valid text) plus what the expansion collects.
///
/// The structure mirrors BuildKit's `shellWord`: ``scan(until:rawEscapes:)`` is
/// `processStopOn`, ``dollar(rawEscapes:)`` is `processDollar`, and so on, so that every
/// quirk falls out of the same control flow instead of being special-cased.
struct ShellWordScanner {
    private let source: String
    private let text: [Unicode.Scalar]
    private var position: Int
    private let escape: Unicode.Scalar
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
    /// current word written before it (`a${X:-b}` splits to `["b"]`). Replicated on purpose:
    /// heredoc detection must find exactly the words BuildKit finds.
    private var wordBuffer = String.UnicodeScalarView()

    init(lexer: ShellLexer, source: String, environment: [String: String], trackVariables: Bool, collectWords: Bool) {
        self.source = source
        self.text = Array(source.unicodeScalars)
        // Go's text/scanner drops a byte order mark at the very start.
        self.position = text.first == "\u{FEFF}" ? 1 : 0
        self.escape = lexer.escapeToken.unicodeScalars.first ?? "\\"
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
            return ShellExpansion(result: result, matched: matched, unmatched: unmatched, words: words)
        } catch {
            throw ShellError("failed to process \(goQuoted(source)): \(error.message)")
        }
    }

    // MARK: - Cursor

    private var atEnd: Bool { position >= text.count }

    private func peek() -> Unicode.Scalar? {
        position < text.count ? text[position] : nil
    }

    private mutating func next() -> Unicode.Scalar? {
        guard position < text.count else { return nil }
        defer { position += 1 }
        return text[position]
    }

    // MARK: - Words

    /// Adds text whose whitespace separates words (literal input, unquoted expansions).
    private mutating func addSplitting(_ scalar: Unicode.Scalar) {
        if isGoSpace(scalar) {
            flushWord()
        } else {
            wordBuffer.append(scalar)
        }
    }

    private mutating func flushWord() {
        guard !wordBuffer.isEmpty else { return }
        words.append(String(wordBuffer))
        wordBuffer.removeAll(keepingCapacity: true)
    }

    // MARK: - Scanning

    /// Processes text up to `stop` (consumed, not returned) or, with `stop == nil`, to the end.
    /// Reaching the end while looking for `stop` is an error.
    private mutating func scan(until stop: Unicode.Scalar?, rawEscapes: Bool) throws(ShellError) -> String {
        let outermost = stop == nil
        let splitting = collectWords && outermost
        if collectWords { wordBuffer.removeAll(keepingCapacity: true) }

        var result = String.UnicodeScalarView()
        while let ch = peek() {
            if let stop, ch == stop {
                position += 1
                return String(result)
            }
            if ch == "$" {
                let value = try dollar(rawEscapes: rawEscapes)
                result.append(contentsOf: value.unicodeScalars)
                if splitting { for scalar in value.unicodeScalars { addSplitting(scalar) } }
                continue
            }
            if ch == "<" {
                let redirect = possibleHeredoc()
                result.append(contentsOf: redirect.unicodeScalars)
                if splitting { wordBuffer.append(contentsOf: redirect.unicodeScalars) }
                continue
            }
            if processQuotes, ch == "'" || ch == "\"" {
                let quoted = ch == "'" ? try singleQuoted() : try doubleQuoted(rawEscapes: rawEscapes)
                result.append(contentsOf: quoted.unicodeScalars)
                if splitting { wordBuffer.append(contentsOf: quoted.unicodeScalars) }
                continue
            }
            position += 1
            if ch == escape {
                if rawEscapes {
                    result.append(ch)
                    if splitting { wordBuffer.append(ch) }
                }
                // The escape token makes the next character literal; at the very end it is dropped.
                guard let escaped = next() else { break }
                result.append(escaped)
                if splitting { wordBuffer.append(escaped) }
            } else {
                result.append(ch)
                if splitting { addSplitting(ch) }
            }
        }
        if let stop {
            throw ShellError("unexpected end of statement while looking for matching \(String(stop))")
        }
        if splitting { flushWord() }
        return String(result)
    }

    /// `<` at the cursor. `<<` takes the blanks after it (space, tab, CR) into the same word,
    /// so that `<< EOF` stays one word for heredoc detection. The text itself is unchanged.
    private mutating func possibleHeredoc() -> String {
        position += 1
        guard peek() == "<" else { return "<" }
        position += 1
        var result = String.UnicodeScalarView(["<", "<"])
        while let ch = peek(), ch == " " || ch == "\t" || ch == "\r" {
            result.append(ch)
            position += 1
        }
        return String(result)
    }

    /// `'…'`: everything literal up to the next `'`.
    private mutating func singleQuoted() throws(ShellError) -> String {
        var result = String.UnicodeScalarView()
        let open = next()!
        if rawQuotes { result.append(open) }
        while true {
            guard let ch = next() else {
                throw ShellError("unexpected end of statement while looking for matching single-quote")
            }
            if ch == "'" {
                if rawQuotes { result.append(ch) }
                return String(result)
            }
            result.append(ch)
        }
    }

    /// `"…"`: variables expand; the escape token escapes only `"`, `$` and itself.
    private mutating func doubleQuoted(rawEscapes: Bool) throws(ShellError) -> String {
        var result = String.UnicodeScalarView()
        let open = next()!
        if rawQuotes { result.append(open) }
        while true {
            guard let peeked = peek() else {
                throw ShellError("unexpected end of statement while looking for matching double-quote")
            }
            switch peeked {
            case "\"":
                position += 1
                if rawQuotes { result.append(peeked) }
                return String(result)
            case "$":
                result.append(contentsOf: try dollar(rawEscapes: rawEscapes).unicodeScalars)
            default:
                var ch = next()!
                if ch == escape {
                    if rawEscapes { result.append(ch) }
                    guard let following = peek() else { continue }  // fails at the top of the loop
                    if following == "\"" || following == "$" || following == escape {
                        ch = following
                        position += 1
                    }
                    // Otherwise the escape token is literal, and upstream writes it a second time
                    // in raw mode (`"a\b"` → `"a\\b"`); that is kept.
                }
                result.append(ch)
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
        guard let first = peek() else { return "" }
        let start = position
        if isGoDigit(first) {
            while let ch = peek(), isGoDigit(ch) { position += 1 }
        } else if isSpecialParameter(first) {
            position += 1
        } else {
            while let ch = peek(), ch == "_" || isGoLetter(ch) || isGoDigit(ch) { position += 1 }
        }
        var name = String.UnicodeScalarView()
        name.append(contentsOf: text[start..<position])
        return String(name)
    }

    /// `$…` at the cursor.
    private mutating func dollar(rawEscapes: Bool) throws(ShellError) -> String {
        position += 1  // "$"

        guard peek() == "{" else {
            let name = name()
            if name.isEmpty { return "$" }
            let value = lookup(name)
            if value == nil && skipUnsetEnv { return "$" + name }
            return value ?? ""
        }

        position += 1  // "{"
        switch peek() {
        case nil: throw ShellError("syntax error: missing '}'")
        case "{", "}", ":": throw ShellError("syntax error: bad substitution")
        default: break
        }
        let name = name()
        var op = next()
        var ops = describe(op)

        switch op {
        case "}":
            let value = lookup(name)
            if value == nil && skipUnsetEnv { return "${\(name)}" }
            return value ?? ""

        case ":", "+", "-", "?", "#", "%":
            let nullIsUnset = op == ":"
            if nullIsUnset {
                op = next()
                ops += describe(op)
            }
            let isPattern = op == "#" || op == "%"
            if nullIsUnset && isPattern {
                throw ShellError("unsupported modifier (\(ops)) in substitution")
            }
            // Patterns keep their escapes so that `\*` reaches the matcher.
            let word = try nested(until: "}", rawEscapes: isPattern, missing: "syntax error: missing '}'")

            let value = lookup(name)
            if value == nil && skipUnsetEnv { return "${\(name)\(ops)\(word)}" }
            let unsetOrNull = value == nil || (nullIsUnset && value == "")

            switch op {
            case "-":
                return unsetOrNull ? word : value!
            case "+":
                return unsetOrNull ? "" : word
            case "?":
                if value == nil {
                    throw ShellError("\(name): \(word.isEmpty ? "is not allowed to be unset" : word)")
                }
                if unsetOrNull {
                    throw ShellError("\(name): \(word.isEmpty ? "is not allowed to be empty" : word)")
                }
                return value!
            case "#", "%":
                // `##` / `%%`: the doubled operator is simply the first character of the
                // (already expanded) pattern.
                var pattern = Array(word.unicodeScalars)
                let greedy = pattern.first == op
                if greedy { pattern.removeFirst() }
                let subject = Array((value ?? "").unicodeScalars)
                let trimmed = op == "%"
                    ? try ShellPattern.trimSuffix(pattern, from: subject, greedy: greedy)
                    : try ShellPattern.trimPrefix(pattern, from: subject, greedy: greedy)
                return scalarsToString(trimmed)
            default:
                throw ShellError("unsupported modifier (\(ops)) in substitution")
            }

        case "/":
            let replaceAll = peek() == "/"
            if replaceAll { position += 1 }
            let pattern = try nested(until: "/", rawEscapes: true, missing: "syntax error: missing '/' in ${}")
            let replacement = try nested(until: "}", rawEscapes: true, missing: "syntax error: missing '}'")

            let value = lookup(name)
            if value == nil && skipUnsetEnv { return "${\(name)/\(pattern)/\(replacement)}" }
            let patternScalars = Array(pattern.unicodeScalars)
            let compiled = try ShellPattern.compile(patternScalars, greedy: true, describedAs: patternScalars)
            let subject = Array((value ?? "").unicodeScalars)
            let replaced = replaceAll
                ? compiled.replaceAll(in: subject, template: Array(replacement.unicodeScalars))
                : compiled.replaceFirst(in: subject, with: Array(replacement.unicodeScalars))
            return scalarsToString(replaced)

        default:
            throw ShellError("unsupported modifier (\(ops)) in substitution")
        }
    }

    /// A nested scan inside `${…}`. A failure that ran to the end of the word is reported as
    /// `missing` (the unclosed `${`), any other failure as itself.
    private mutating func nested(until stop: Unicode.Scalar, rawEscapes: Bool, missing: String) throws(ShellError) -> String {
        do {
            return try scan(until: stop, rawEscapes: rawEscapes)
        } catch {
            throw atEnd ? ShellError(missing) : error
        }
    }

    /// A scalar as Go's `string(rune)` prints it; the end of input (rune -1) prints as U+FFFD.
    private func describe(_ scalar: Unicode.Scalar?) -> String {
        String(scalar ?? "\u{FFFD}")
    }
}

// MARK: - Character classes (Go's unicode package)

/// `unicode.IsSpace`: the Unicode White_Space property (ASCII `\t\n\v\f\r ` plus U+0085, U+00A0, …).
@inline(__always)
func isGoSpace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x20: return true
    case 0..<0x80: return false
    case 0x85, 0xA0: return true
    case 0x81..<0x100: return false
    default: return scalar.properties.isWhitespace
    }
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
private func isSpecialParameter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "@", "*", "#", "?", "-", "$", "!", "0": return true
    default: return false
    }
}

func scalarsToString<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return String(view)
}

/// Go's `%q` / `strconv.Quote`, for error messages that read like BuildKit's.
func goQuoted(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        default:
            if scalar == " " || isGoPrintable(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + hex(scalar.value, width: 2)
            } else if scalar.value < 0x10000 {
                out += "\\u" + hex(scalar.value, width: 4)
            } else {
                out += "\\U" + hex(scalar.value, width: 8)
            }
        }
    }
    return out + "\""
}

/// `unicode.IsPrint` without the space special case: letters, marks, numbers, punctuation, symbols.
private func isGoPrintable(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 { return scalar.value > 0x20 && scalar.value < 0x7F }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
         .nonspacingMark, .spacingMark, .enclosingMark,
         .decimalNumber, .letterNumber, .otherNumber,
         .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation,
         .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
        return true
    default:
        return false
    }
}

private func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
