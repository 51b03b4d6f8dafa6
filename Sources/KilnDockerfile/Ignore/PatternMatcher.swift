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

    /// Builds a matcher from pattern-list entries, such as the ones ``DockerIgnoreFile``
    /// reads from a `.dockerignore`. Each entry is trimmed and cleaned; empty entries are
    /// dropped.
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
        try withPathAndParent(path) { path throws(PatternError) -> Bool in
            var matched = false
            for pattern in patterns {
                // Whatever this pattern says could not change the result.
                if pattern.isException != matched { continue }
                if try pattern.applies(to: path) { matched = !pattern.isException }
            }
            return matched
        }
    }

    /// Whether `path` is excluded, reusing the per-pattern results of its parent directory:
    /// the reference's `MatchesUsingParentResults`, the form a directory walk uses.
    ///
    /// Pass the `results` returned for the parent directory, or an empty ``MatchInfo``
    /// (then every parent directory is checked, as ``matchesOrParentMatches(_:)`` does).
    ///
    /// Like the reference, it can disagree with ``matchesOrParentMatches(_:)`` when an
    /// inclusion pattern was skipped for the parent (its result could not change there)
    /// but would apply through the parent: with `["a", "!a/b", "a"]` the walk keeps
    /// `a/b`, the parent rule excludes it.
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
        return try withPathAndParent(path) { path throws(PatternError) -> (Bool, MatchInfo) in
            var matched = false
            var results = [Bool](repeating: false, count: patterns.count)
            for (index, pattern) in patterns.enumerated() {
                var applies = parentMatched.isEmpty ? false : parentMatched[index]
                if !applies {
                    if pattern.isException != matched { continue }
                    applies = parentMatched.isEmpty
                        ? try pattern.applies(to: path)
                        : try pattern.compiled.matches(path.bytes)
                }
                results[index] = applies
                if applies { matched = !pattern.isException }
            }
            return (matched, MatchInfo(patternMatched: results))
        }
    }

    /// Runs `body` on `path` prepared for the parent rule, without allocating when `path`
    /// is already clean.
    func withPathAndParent<Result>(
        _ path: String, _ body: (PathUnderTest) throws(PatternError) -> Result
    ) throws(PatternError) -> Result {
        var path = path
        let outcome = path.withUTF8 { bytes -> Swift.Result<Result, PatternError> in
            Swift.Result { () throws(PatternError) -> Result in
                if SlashPath.isClean(bytes) {
                    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else {
                        return try body(PathUnderTest(bytes: bytes, parent: nil, ancestorsArePrefixes: true))
                    }
                    // The parent of `/x` is `/`, which is not a prefix ending before a `/`.
                    let parent = bytes.prefix(bytes: max(slash, 1))
                    return try body(PathUnderTest(bytes: bytes, parent: parent, ancestorsArePrefixes: slash > 0))
                }
                var parent = SlashPath.dir(String(decoding: bytes, as: UTF8.self))
                if parent == "." { return try body(PathUnderTest(bytes: bytes, parent: nil, ancestorsArePrefixes: false)) }
                let nested = parent.withUTF8 { parentBytes in
                    Swift.Result { () throws(PatternError) -> Result in
                        try body(PathUnderTest(bytes: bytes, parent: parentBytes, ancestorsArePrefixes: false))
                    }
                }
                return try nested.get()
            }
        }
        return try outcome.get()
    }
}

/// A path as given to the matcher, with its parent directory (Go's `filepath.Dir`).
struct PathUnderTest {
    /// The path's UTF-8.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The parent directory's UTF-8; `nil` when it is `.`.
    let parent: UnsafeBufferPointer<UInt8>?
    /// The path is clean and relative, so its ancestors are exactly its prefixes that end
    /// before a `/`, which lets most patterns answer the parent rule in one test.
    let ancestorsArePrefixes: Bool
}

extension IgnorePattern {
    /// Whether this pattern matches the path or one of the directories of its parent: each
    /// prefix of the parent that ends before a `/`, then the parent itself (for the parent
    /// `/` that is the empty string, then `/`, as in the reference).
    func applies(to path: PathUnderTest) throws(PatternError) -> Bool {
        if path.ancestorsArePrefixes { return try compiled.matchesSelfOrAncestor(path.bytes) }
        if try compiled.matches(path.bytes) { return true }
        guard let parent = path.parent else { return false }
        // The path itself compiled fine, so parent checks cannot throw; the reference
        // ignores their errors too.
        for index in parent.indices where parent[index] == UInt8(ascii: "/") {
            if (try? compiled.matches(parent.prefix(bytes: index))) == true { return true }
        }
        return (try? compiled.matches(parent)) == true
    }
}
