/// The argument parsers of BuildKit's dispatch table, one per shape of instruction.
///
/// Each takes the trimmed text after the keyword and flags and returns the words the dump shows.
enum ArgumentShape: Sendable {
    /// `FROM`, `EXPOSE`: split on runs of `[ \t\v\f\r]`, nothing else special.
    case whitespaceDelimited
    /// `ADD`, `COPY`, `VOLUME`: a JSON array, else whitespace-delimited.
    case jsonOrList
    /// `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`: a JSON array, else the text as one string.
    case jsonOrString
    /// `MAINTAINER`, `USER`, `WORKDIR`, `STOPSIGNAL`: the text as one string.
    case string
    /// `HEALTHCHECK`: a type word, then like ``jsonOrString``.
    case healthcheck
    /// `ENV`: key/value/separator triples.
    case env
    /// `LABEL`: key/value/separator triples.
    case label
    /// `ARG`: one word per name or name=value.
    case nameOrNameValue
    /// `ONBUILD`: a nested instruction.
    case subcommand
    /// Unknown keywords: one empty argument.
    case ignore

    /// The shape for a lowercased keyword.
    init(keyword: String) {
        switch keyword {
        case "from", "expose": self = .whitespaceDelimited
        case "add", "copy", "volume": self = .jsonOrList
        case "run", "cmd", "entrypoint", "shell": self = .jsonOrString
        case "maintainer", "user", "workdir", "stopsignal": self = .string
        case "healthcheck": self = .healthcheck
        case "env": self = .env
        case "label": self = .label
        case "arg": self = .nameOrNameValue
        case "onbuild": self = .subcommand
        default: self = .ignore
        }
    }
}

/// Arguments as an argument parser returns them.
struct ParsedArguments: Sendable {
    var words: [Word] = []
    var isExecForm = false
}

/// A parse failure inside one logical line, located by a byte offset in that line.
struct LineError: Error, Sendable {
    var message: String
    var offset: Int
}

extension ArgumentShape {
    /// Parses `bytes[range]` (already trimmed) into this shape's arguments; `ONBUILD` is handled
    /// by the node builder, not here.
    func parse(_ bytes: [UInt8], _ range: Range<Int>, escapeToken: UInt8) throws(LineError) -> ParsedArguments {
        switch self {
        case .whitespaceDelimited:
            return ParsedArguments(words: Self.splitOnBlanks(bytes, range))
        case .jsonOrList:
            if let json = try Self.execForm(bytes, range) { return json }
            return ParsedArguments(words: Self.splitOnBlanks(bytes, range))
        case .jsonOrString:
            return try Self.jsonOrString(bytes, range)
        case .string:
            return ParsedArguments(words: range.isEmpty ? [] : [Word(bytes[range], offset: range.lowerBound)])
        case .healthcheck:
            return try Self.healthcheck(bytes, range)
        case .env:
            return try KeyValueArguments.parse(bytes, range, instruction: "ENV", escapeToken: escapeToken)
        case .label:
            return try KeyValueArguments.parse(bytes, range, instruction: "LABEL", escapeToken: escapeToken)
        case .nameOrNameValue:
            return ParsedArguments(words: WordSplitting.words(bytes, range, escapeToken: escapeToken))
        case .subcommand, .ignore:
            return ParsedArguments(words: [Word([], offset: range.lowerBound)])
        }
    }

    /// The message BuildKit gives for a JSON array holding something other than strings.
    static let notStringArrayMessage = "when using JSON array syntax, arrays must be comprised of strings only"

    /// BuildKit's `parseJSON`: nil when the text is not a JSON array (shell form), an error when
    /// it is a JSON array with a non-string element.
    static func execForm(_ bytes: [UInt8], _ range: Range<Int>) throws(LineError) -> ParsedArguments? {
        let start = GoText.skipSpace(bytes, from: range.lowerBound, to: range.upperBound)
        guard start < range.upperBound, bytes[start] == UInt8(ascii: "[") else { return nil }
        switch JSONText.stringArray(bytes, in: start..<range.upperBound) {
        case .notJSON:
            return nil
        case .notAllStrings:
            throw LineError(message: notStringArrayMessage, offset: start)
        case .strings(let elements):
            return ParsedArguments(words: elements.map { Word($0.bytes, offset: $0.offset) }, isExecForm: true)
        }
    }

    /// BuildKit's `parseMaybeJSON`.
    static func jsonOrString(_ bytes: [UInt8], _ range: Range<Int>) throws(LineError) -> ParsedArguments {
        if range.isEmpty { return ParsedArguments() }
        if let json = try execForm(bytes, range) { return json }
        return ParsedArguments(words: [Word(bytes[range], offset: range.lowerBound)])
    }

    /// Splits on runs of `[ \t\v\f\r]` (BuildKit's `reWhitespace`); the text is already trimmed.
    static func splitOnBlanks(_ bytes: [UInt8], _ range: Range<Int>) -> [Word] {
        var words: [Word] = []
        var index = range.lowerBound
        while index < range.upperBound {
            let start = index
            while index < range.upperBound && !GoText.isBlank(bytes[index]) { index += 1 }
            words.append(Word(bytes[start..<index], offset: start))
            while index < range.upperBound && GoText.isBlank(bytes[index]) { index += 1 }
        }
        return words
    }

    /// BuildKit's `parseHealthConfig`: the type word (up to a Latin-1 blank byte), then the rest
    /// like `CMD`.
    static func healthcheck(_ bytes: [UInt8], _ range: Range<Int>) throws(LineError) -> ParsedArguments {
        var separator = range.lowerBound
        while separator < range.upperBound && !GoText.isLatin1Space(bytes[separator]) { separator += 1 }
        var next = separator
        while next < range.upperBound && GoText.isLatin1Space(bytes[next]) { next += 1 }
        if separator == range.lowerBound { return ParsedArguments() }
        var result = try jsonOrString(bytes, next..<range.upperBound)
        result.words.insert(Word(bytes[range.lowerBound..<separator], offset: range.lowerBound), at: 0)
        return result
    }
}
