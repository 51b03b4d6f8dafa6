/// Decides which paths of a build context a `.dockerignore` pattern list excludes, with
/// the semantics of `github.com/moby/patternmatcher` (the matcher of BuildKit and Docker).
///
/// Paths are relative to the context root and `/`-separated. Patterns apply in order and
/// the last one that applies wins: a pattern applies to a path when it matches the path
/// or any of its parent directories, so excluding `docs` excludes `docs/a.md`, and an
/// exception (`!pattern`) re-includes only what it matches. Patterns use Go's
/// `filepath.Match` syntax (`*`, `?`, `[a-z]`, `[^a-z]`, `\` escapes) plus `**` for any
/// number of directories, and are anchored at the context root (`foo` does not match
/// `src/foo`; `**/foo` does).
public struct PatternMatcher: Sendable {
    /// The patterns that were kept (empty entries are dropped), in order.
    public let patterns: [IgnorePattern]
    /// Whether any pattern is an exception (`!pattern`).
    public let hasExceptions: Bool

    /// Builds a matcher from pattern-list entries such as ``DockerIgnoreFile/patterns(in:)-(String)``
    /// returns. Each entry is trimmed and cleaned; empty entries are dropped.
    ///
    /// - Throws: ``PatternError/illegalExclusion`` for an entry that is just `!`, and
    ///   ``PatternError/badPattern(_:)`` for malformed syntax (`[`, `a\`, `[]a]`, `[x-]`, …).
    public init(_ entries: [String]) throws(PatternError) {
        var patterns: [IgnorePattern] = []
        patterns.reserveCapacity(entries.count)
        for entry in entries {
            if let pattern = try IgnorePattern(entry) { patterns.append(pattern) }
        }
        self.patterns = patterns
        self.hasExceptions = patterns.contains(where: \.isException)
    }

    /// A matcher without patterns: nothing is excluded.
    public init() {
        patterns = []
        hasExceptions = false
    }

    /// Whether `path` is excluded: the reference's `MatchesOrParentMatches`, every pattern
    /// tested against the path and each of its parent directories.
    ///
    /// The path is used as given, not cleaned (`file/` has the parent `file`).
    /// - Throws: ``PatternError/badPattern(_:)`` when a pattern that must be evaluated
    ///   cannot be compiled (a reversed range like `[z-a]`), on every call.
    public func matchesOrParentMatches(_ path: String) throws(PatternError) -> Bool {
        try withPathAndParent(path) { (path, parent) throws(PatternError) -> Bool in
            var matched = false
            for pattern in patterns {
                // Whatever this pattern says could not change the result.
                if pattern.isException != matched { continue }
                if try pattern.applies(to: path, parent: parent) { matched = !pattern.isException }
            }
            return matched
        }
    }

    /// Whether `path` is excluded, reusing the per-pattern results of its parent directory:
    /// the reference's `MatchesUsingParentResults`, the form a directory walk uses.
    ///
    /// Pass the `results` returned for the parent directory, or an empty ``MatchInfo``
    /// (then every parent directory is checked, as ``matchesOrParentMatches(_:)`` does).
    /// - Throws: ``PatternError/mismatchedParentResults(expected:got:)`` when
    ///   `parentResults` came from another matcher, and the errors of
    ///   ``matchesOrParentMatches(_:)``.
    public func matchesUsingParentResults(
        _ path: String, parentResults: MatchInfo = MatchInfo()
    ) throws(PatternError) -> (matched: Bool, results: MatchInfo) {
        let parentMatched = parentResults.patternMatched
        if !parentMatched.isEmpty && parentMatched.count != patterns.count {
            throw .mismatchedParentResults(expected: patterns.count, got: parentMatched.count)
        }
        return try withPathAndParent(path) { (path, parent) throws(PatternError) -> (Bool, MatchInfo) in
            var matched = false
            var results = [Bool](repeating: false, count: patterns.count)
            for (index, pattern) in patterns.enumerated() {
                var applies = parentMatched.isEmpty ? false : parentMatched[index]
                if !applies {
                    if pattern.isException != matched { continue }
                    applies = parentMatched.isEmpty
                        ? try pattern.applies(to: path, parent: parent)
                        : try pattern.compiled.matches(path)
                }
                results[index] = applies
                if applies { matched = !pattern.isException }
            }
            return (matched, MatchInfo(patternMatched: results))
        }
    }

    /// Runs `body` on the UTF-8 of `path` and of its parent directory (Go's
    /// `filepath.Dir`, `nil` for `.`), without allocating when `path` is already clean.
    func withPathAndParent<Result>(
        _ path: String,
        _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>?) throws(PatternError) -> Result
    ) throws(PatternError) -> Result {
        var path = path
        let outcome = path.withUTF8 { bytes -> Swift.Result<Result, PatternError> in
            Swift.Result { () throws(PatternError) -> Result in
                if SlashPath.isClean(bytes) {
                    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return try body(bytes, nil) }
                    // The parent of `/x` is `/`.
                    return try body(bytes, UnsafeBufferPointer(rebasing: bytes[..<max(slash, 1)]))
                }
                var parent = SlashPath.dir(String(decoding: bytes, as: UTF8.self))
                if parent == "." { return try body(bytes, nil) }
                let nested = parent.withUTF8 { parentBytes in
                    Swift.Result { () throws(PatternError) -> Result in try body(bytes, parentBytes) }
                }
                return try nested.get()
            }
        }
        return try outcome.get()
    }
}

extension IgnorePattern {
    /// Whether this pattern matches `path` or one of the directories of `parent`: each
    /// prefix of `parent` that ends before a `/`, then `parent` itself (for the parent `/`
    /// that is the empty string, then `/`, as in the reference).
    func applies(to path: UnsafeBufferPointer<UInt8>, parent: UnsafeBufferPointer<UInt8>?) throws(PatternError) -> Bool {
        if try compiled.matches(path) { return true }
        guard let parent else { return false }
        // The path itself compiled fine, so parent checks cannot throw; the reference
        // ignores their errors too.
        for index in parent.indices where parent[index] == UInt8(ascii: "/") {
            if (try? compiled.matches(UnsafeBufferPointer(rebasing: parent[..<index]))) == true { return true }
        }
        return (try? compiled.matches(parent)) == true
    }
}
