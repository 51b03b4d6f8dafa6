/// One entry of a pattern list, normalised the way the reference normalises it when it
/// builds a matcher: whitespace-trimmed, `filepath.Clean`ed, then split into the
/// exception flag and the pattern text.
public struct IgnorePattern: Sendable, Hashable, CustomStringConvertible {
    /// The cleaned pattern without the leading `!`.
    public let text: String
    /// `true` for `!pattern`: a match re-includes the path instead of excluding it.
    public let isException: Bool
    /// How many `/`-separated segments `text` has (the deprecated one-level parent check
    /// compares the parent with as many segments as the pattern has).
    let segmentCount: Int
    let compiled: CompiledPattern

    /// Normalises and compiles one entry. Returns `nil` for an entry that is empty after
    /// trimming (the reference drops those). Throws for `!` alone and for malformed globs.
    init?(_ entry: String) throws(PatternError) {
        let trimmed = GoWhitespace.trimmed(entry)
        if trimmed.isEmpty { return nil }
        // Cleaning happens before `!` is looked at, as in the reference, so `!./x` keeps
        // its `./` (it is one segment `!.` to Clean) and `!a/../b` becomes `!b`.
        let cleaned = SlashPath.clean(trimmed)
        isException = cleaned.utf8.first == UInt8(ascii: "!")
        if isException {
            if cleaned.utf8.count == 1 { throw .illegalExclusion }
            text = String(cleaned.unicodeScalars.dropFirst())
        } else {
            text = cleaned
        }
        segmentCount = text.utf8.count(where: { $0 == UInt8(ascii: "/") }) + 1
        compiled = try CompiledPattern(text)
    }

    /// The pattern as written in a `.dockerignore` (with its `!`).
    public var description: String { isException ? "!" + text : text }

    /// Patterns are equal when they read the same (the compiled form follows from the text).
    public static func == (lhs: IgnorePattern, rhs: IgnorePattern) -> Bool {
        lhs.text == rhs.text && lhs.isException == rhs.isException
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(isException)
    }
}
