/// Why an ignore pattern list cannot be built or evaluated.
///
/// The descriptions are the reference implementation's messages, so users who search
/// for them find the Docker documentation and issues.
public enum PatternError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A pattern that is exactly `!`: an exception of nothing.
    case illegalExclusion
    /// Malformed glob syntax (unclosed `[`, `\` at the end, `[]a]`, `[-]`, `[x-]`, …).
    /// Carries the offending pattern. Raised when the pattern list is built, except for a
    /// reversed range such as `[z-a]`, which is raised each time the pattern is evaluated.
    case badPattern(String)
    /// The per-pattern results passed to an incremental match come from a matcher with a
    /// different number of patterns.
    case mismatchedParentResults(expected: Int, got: Int)

    /// The message, worded like the reference's.
    public var description: String {
        switch self {
        case .illegalExclusion:
            return #"illegal exclusion pattern: "!""#
        case .badPattern(let pattern):
            return "syntax error in pattern: \(pattern)"
        case .mismatchedParentResults(let expected, let got):
            return "wrong number of values in parentMatched: expected \(expected), got \(got)"
        }
    }
}
