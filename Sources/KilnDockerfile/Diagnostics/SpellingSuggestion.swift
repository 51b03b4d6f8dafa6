/// Finds the closest known word to a misspelled one (`RUUN` → `RUN`, `chwon` → `chown`).
///
/// Distance is optimal-string-alignment (Levenshtein plus adjacent transpositions), because
/// swapped letters are the most common typo in flag names.
public enum SpellingSuggestion {
    /// The candidate closest to `word`, if it is close enough to be a plausible typo.
    ///
    /// Short words tolerate one edit, longer ones two; an exact match is never suggested.
    public static func closest(to word: String, in candidates: [String], caseSensitive: Bool = false) -> String? {
        let needle = Array((caseSensitive ? word : word.lowercased()).unicodeScalars)
        guard !needle.isEmpty else { return nil }
        let allowed = needle.count <= 3 ? 1 : 2
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let hay = Array((caseSensitive ? candidate : candidate.lowercased()).unicodeScalars)
            let distance = editDistance(needle, hay)
            guard distance > 0, distance <= allowed else { continue }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Optimal string alignment distance between two scalar arrays.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
