/// The per-pattern results of one directory, handed to
/// ``PatternMatcher/matchesUsingParentResults(_:parentResults:)`` for its entries so a
/// walk tests each pattern against each path once instead of against every ancestor.
public struct MatchInfo: Sendable, Hashable {
    /// For each pattern of the matcher that produced it: whether the pattern applied to the
    /// directory (matched it or one of its parents). Empty means "unknown".
    var patternMatched: [Bool]

    /// No information about the parent: the matcher checks every parent directory itself.
    public init() {
        patternMatched = []
    }

    init(patternMatched: [Bool]) {
        self.patternMatched = patternMatched
    }
}
