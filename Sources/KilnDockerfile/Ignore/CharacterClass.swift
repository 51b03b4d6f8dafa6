/// A `[...]` bracket expression of a pattern: a set of Unicode scalar ranges, possibly
/// negated with `^`. It matches exactly one character, and unlike `*` and `?` it may
/// match `/` (as in Go's `filepath.Match` and the reference's regular expressions).
///
/// `[!...]` is not a negation: Go's `filepath.Match`, which defines the syntax, only
/// knows `^`, so `!` is an ordinary member of the set.
struct CharacterClass: Sendable, Hashable {
    /// The members; every range has `lowerBound <= upperBound`.
    var ranges: [ClosedRange<UInt32>]
    /// `[^...]`: matches every character outside `ranges`.
    var negated: Bool
    /// The bracket expression as written, kept for diagnostics and for comparing with
    /// the reference's compiled form.
    var source: String

    /// Whether the scalar value `scalar` is in the set.
    func contains(_ scalar: UInt32) -> Bool {
        var member = false
        for range in ranges where range.contains(scalar) {
            member = true
            break
        }
        return member != negated
    }
}

extension CharacterClass {
    /// A class parsed from `bytes[start...]` (which holds `[`), with the grammar and the
    /// syntax errors of Go's `filepath.Match`. Returns the class and the index after `]`.
    ///
    /// A reversed range (`[z-a]`) is accepted by that grammar but rejected by the
    /// reference when it compiles the pattern for matching, so it is reported separately
    /// as `hasReversedRange` instead of as a syntax error.
    static func parse(
        _ bytes: [UInt8], at start: Int, pattern: String
    ) throws(PatternError) -> (class: CharacterClass, end: Int, hasReversedRange: Bool) {
        var index = start + 1
        var negated = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "^") {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var members = 0
        var hasReversedRange = false
        while true {
            if index < bytes.count, bytes[index] == UInt8(ascii: "]"), members > 0 {
                index += 1
                break
            }
            let low = try member(bytes, &index, pattern: pattern)
            var high = low
            if bytes[index] == UInt8(ascii: "-") {
                index += 1
                high = try member(bytes, &index, pattern: pattern)
            }
            if low <= high {
                ranges.append(low...high)
            } else {
                hasReversedRange = true
            }
            members += 1
        }
        let source = String(decoding: bytes[start..<index], as: UTF8.self)
        return (CharacterClass(ranges: ranges, negated: negated, source: source), index, hasReversedRange)
    }

    /// One possibly `\`-escaped member character (Go's `getEsc`). Like Go, it requires
    /// more pattern to follow, because a class must still be closed.
    private static func member(_ bytes: [UInt8], _ index: inout Int, pattern: String) throws(PatternError) -> UInt32 {
        guard index < bytes.count, bytes[index] != UInt8(ascii: "-"), bytes[index] != UInt8(ascii: "]") else {
            throw .badPattern(pattern)
        }
        if bytes[index] == UInt8(ascii: "\\") {
            index += 1
            guard index < bytes.count else { throw .badPattern(pattern) }
        }
        let rune = bytes.withUnsafeBufferPointer { UTF8Rune.decode($0, at: index, end: $0.count) }
        guard rune.isValid else { throw .badPattern(pattern) }
        index += rune.width
        guard index < bytes.count else { throw .badPattern(pattern) }
        return rune.scalar
    }
}
