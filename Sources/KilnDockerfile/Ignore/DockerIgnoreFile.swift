import Foundation

/// Reads `.dockerignore` text into the pattern list a ``PatternMatcher`` is built from,
/// as the reference's `ignorefile.ReadAll` does.
///
/// Per line (split at `\n`, a trailing `\r` dropped): a UTF-8 BOM is removed from the
/// first line; a line whose first character is `#` is a comment (checked before
/// trimming, so `  # x` is the pattern `# x`); the line is trimmed and skipped when
/// empty; a leading `!` is set aside and the rest trimmed again; what remains is
/// `filepath.Clean`ed and loses one leading `/` (`/foo` ≡ `foo`, `./` → `.`, `/` stays).
/// A lone `!` is kept: the matcher rejects it.
public enum DockerIgnoreFile {
    /// The patterns of a `.dockerignore` given as bytes. `nil` (no file) gives no patterns.
    public static func patterns(in data: Data?) -> [String] {
        guard let data else { return [] }
        var patterns: [String] = []
        var isFirstLine = true
        for var line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if isFirstLine, line.starts(with: byteOrderMark) { line = line.dropFirst(byteOrderMark.count) }
            isFirstLine = false
            if let pattern = pattern(inLine: String(decoding: line, as: UTF8.self)) { patterns.append(pattern) }
        }
        return patterns
    }

    /// The patterns of a `.dockerignore` given as text. `nil` (no file) gives no patterns.
    public static func patterns(in text: String?) -> [String] {
        patterns(in: text.map { Data($0.utf8) })
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The pattern one line contributes, or `nil` for comments and blank lines.
    /// Works on scalars, not `Character`s: `!` followed by a combining mark is still `!`.
    private static func pattern(inLine line: String) -> String? {
        if line.utf8.first == UInt8(ascii: "#") { return nil }
        var pattern = GoWhitespace.trimmed(line)
        if pattern.isEmpty { return nil }
        let isException = pattern.utf8.first == UInt8(ascii: "!")
        if isException { pattern = GoWhitespace.trimmed(String(pattern.unicodeScalars.dropFirst())) }
        if !pattern.isEmpty {
            pattern = SlashPath.clean(pattern)
            // Patterns are relative to the context root, so `/foo` means `foo`.
            if pattern.utf8.count > 1, pattern.utf8.first == UInt8(ascii: "/") {
                pattern = String(pattern.unicodeScalars.dropFirst())
            }
        }
        return isException ? "!" + pattern : pattern
    }
}
