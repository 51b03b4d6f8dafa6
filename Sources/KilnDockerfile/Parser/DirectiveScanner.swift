/// One parser directive line (`# escape=\``) as found at the top of a Dockerfile.
package struct ParsedDirective: Sendable, Hashable {
    /// The directive name, lowercased (`syntax`, `escape` or `check`).
    package var name: String
    /// The value, trimmed.
    package var value: String
    /// The 1-based physical line of the directive.
    package var line: Int
}

/// Recognises parser directives line by line, the way BuildKit's `DirectiveParser` does.
///
/// A directive is `<comment prefix>` + optional blanks + `name` + optional blanks + `=` + optional
/// blanks + `value` (BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`). Only `syntax`,
/// `escape` and `check` are directives; scanning stops for good at the first line that is not one.
package struct DirectiveScanner: Sendable {
    /// The names BuildKit treats as directives.
    static let knownNames: Set<String> = ["syntax", "escape", "check"]

    /// The comment prefix a directive line starts with: `#`, or `//` for syntax detection.
    let prefix: [UInt8]
    /// Set once a non-directive line has been seen.
    private(set) var done = false
    /// Directives found so far, in order.
    private(set) var found: [ParsedDirective] = []
    /// The number of lines handed to ``scan(_:line:)`` so far.
    private var linesSeen = 0

    /// Creates a scanner for directives behind `prefix`.
    package init(prefix: String = "#", startingLine: Int = 0) {
        self.prefix = Array(prefix.utf8)
        self.linesSeen = startingLine
    }

    /// A directive found on a line, or a message for a repeated one.
    enum Outcome {
        case none
        case directive(ParsedDirective)
        case duplicate(String)
    }

    /// Looks at the next line (line ending already removed).
    mutating func scan<C: RandomAccessCollection<UInt8>>(_ line: C) -> Outcome where C.Index == Int {
        linesSeen += 1
        if done { return .none }
        guard let (name, value) = Self.match(line, prefix: prefix), Self.knownNames.contains(name) else {
            done = true
            return .none
        }
        if found.contains(where: { $0.name == name }) {
            return .duplicate("only one \(name) parser directive can be used")
        }
        let directive = ParsedDirective(name: name, value: value, line: linesSeen)
        found.append(directive)
        return .directive(directive)
    }

    /// Scans every line of `text` until scanning stops; nil when a directive repeats.
    mutating func scanAll(_ text: ArraySlice<UInt8>) -> [ParsedDirective]? {
        var start = text.startIndex
        while start < text.endIndex && !done {
            let newline = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
            var end = newline
            if end > start && text[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if case .duplicate = scan(text[start..<end]) { return nil }
            start = newline + 1
        }
        return found
    }

    /// RE2's `\s`: `[\t\n\f\r ]`.
    @inline(__always)
    private static func isRegexSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// Matches one line against the directive pattern; the name comes back lowercased.
    static func match<C: RandomAccessCollection<UInt8>>(_ line: C, prefix: [UInt8]) -> (String, String)? where C.Index == Int {
        guard line.count >= prefix.count, line.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var index = line.startIndex + prefix.count
        let end = line.endIndex
        while index < end && isRegexSpace(line[index]) { index += 1 }
        let nameStart = index
        guard index < end, isLetter(line[index]) else { return nil }
        while index < end && (isLetter(line[index]) || (line[index] >= 0x30 && line[index] <= 0x39)) { index += 1 }
        let name = String(decoding: line[nameStart..<index].map { $0 | 0x20 }, as: UTF8.self)
        while index < end && isRegexSpace(line[index]) { index += 1 }
        guard index < end, line[index] == UInt8(ascii: "=") else { return nil }
        index += 1
        // `\s*(.+?)\s*$`: the value is the rest trimmed of blanks at both ends; when the rest is
        // only blanks, the lazy group still has to take one character: the last one.
        guard index < end, !line[index..<end].contains(UInt8(ascii: "\n")) else { return nil }
        var valueEnd = end
        while valueEnd > index && isRegexSpace(line[valueEnd - 1]) { valueEnd -= 1 }
        var valueStart = index
        if valueEnd == index {
            valueStart = end - 1
            valueEnd = end
        } else {
            while valueStart < valueEnd && isRegexSpace(line[valueStart]) { valueStart += 1 }
        }
        return (name, String(decoding: line[valueStart..<valueEnd], as: UTF8.self))
    }
}
