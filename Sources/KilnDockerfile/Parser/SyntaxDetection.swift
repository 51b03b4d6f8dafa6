/// A directive located by ``DockerfileParser/detectSyntax(_:)`` or ``DockerfileParser/parseDirective(_:in:)``.
public struct DetectedDirective: Sendable, Hashable {
    /// The first blank-separated word of the value (`docker/dockerfile:1` of `docker/dockerfile:1 // opts`).
    public var value: String
    /// The whole value.
    public var commandLine: String
    /// The 1-based physical line of the directive (a skipped `#!` line counts).
    public var line: Int
}

extension DockerfileParser {
    /// Finds the `syntax` directive the way BuildKit's `DetectSyntax` does, before any parsing:
    /// `# syntax=`, then `// syntax=`, then a file that is a JSON object with a `"syntax"` string.
    /// A UTF-8 BOM and a first `#!` line are skipped.
    public static func detectSyntax(_ source: some Collection<UInt8>) -> DetectedDirective? {
        detectDirective("syntax", in: Array(source), anyFormat: true)
    }

    /// Finds directive `key` in the `#` form only (BuildKit's `ParseDirective`).
    public static func parseDirective(_ key: String, in source: some Collection<UInt8>) -> DetectedDirective? {
        detectDirective(key, in: Array(source), anyFormat: false)
    }

    private static func detectDirective(_ key: String, in bytes: [UInt8], anyFormat: Bool) -> DetectedDirective? {
        var text = bytes[...]
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }
        var skippedLines = 0
        if text.starts(with: Array("#!".utf8)) {
            guard let newline = text.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            text = text[(newline + 1)...]
            skippedLines = 1
        }
        for prefix in anyFormat ? ["#", "//"] : ["#"] {
            var scanner = DirectiveScanner(prefix: prefix, startingLine: skippedLines)
            if let directives = scanner.scanAll(text), let match = directives.first(where: { $0.name == key }) {
                let firstWord = match.value.split(whereSeparator: { $0.unicodeScalars.allSatisfy(GoText.isSpace) }).first
                return DetectedDirective(value: firstWord.map(String.init) ?? "", commandLine: match.value, line: match.line)
            }
        }
        if anyFormat, let value = JSONText.stringMember(Array(text), key: Array(key.utf8)) {
            let string = String(decoding: value, as: UTF8.self)
            return DetectedDirective(value: string, commandLine: string, line: skippedLines + 1)
        }
        return nil
    }
}
