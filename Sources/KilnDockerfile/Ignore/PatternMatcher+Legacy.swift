extension PatternMatcher {
    /// The reference's deprecated package-level `Matches(file, patterns)`: builds a matcher,
    /// cleans `path`, never matches `.` (the context root), and checks only **one** parent
    /// directory per pattern (see ``matchesCheckingOneParentLevel(_:)``).
    ///
    /// Kept for conformance with the reference's test tables; the builder uses
    /// ``matchesOrParentMatches(_:)``.
    public static func matches(_ path: String, patterns: [String]) throws(PatternError) -> Bool {
        let matcher = try PatternMatcher(patterns)
        let cleaned = SlashPath.clean(path)
        if cleaned == "." { return false }
        return try matcher.matchesCheckingOneParentLevel(cleaned)
    }

    /// The reference's deprecated `PatternMatcher.Matches`: like
    /// ``matchesOrParentMatches(_:)``, but of the parent directories only the one with as
    /// many segments as the pattern is tested (`a/*` tests `x/y` for `x/y/z`, not `x`).
    public func matchesCheckingOneParentLevel(_ path: String) throws(PatternError) -> Bool {
        let parent = SlashPath.dir(path)
        let parentSegments = parent.split(separator: "/", omittingEmptySubsequences: false)
        var matched = false
        for pattern in patterns {
            if pattern.isException != matched { continue }
            var applies = try pattern.matches(path)
            if !applies, parent != ".", pattern.segmentCount <= parentSegments.count {
                let ancestor = parentSegments[..<pattern.segmentCount].joined(separator: "/")
                applies = (try? pattern.matches(ancestor)) == true
            }
            if applies { matched = !pattern.isException }
        }
        return matched
    }
}

extension IgnorePattern {
    /// Whether the whole of `path` matches this pattern (ignoring `isException`).
    func matches(_ path: String) throws(PatternError) -> Bool {
        var path = path
        let outcome = path.withUTF8 { bytes in
            Result { () throws(PatternError) -> Bool in try compiled.matches(bytes) }
        }
        return try outcome.get()
    }
}
