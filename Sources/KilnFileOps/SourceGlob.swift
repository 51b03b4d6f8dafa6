/// A `COPY`/`ADD` source pattern, matched one path segment at a time with Go's
/// `filepath.Match` rules as BuildKit does: `*` (any run of characters but `/`), `?`, `[…]`
/// classes with ranges and `^` negation, `\` escapes. `**` is not special (it is `*`).
struct SourceGlob: Sendable {
    /// The segment pattern.
    let pattern: [Unicode.Scalar]

    /// A pattern for one path segment.
    init(_ segment: String) {
        pattern = Array(segment.unicodeScalars)
    }

    /// Whether `path` holds a wildcard and must be expanded against the source tree.
    static func hasWildcards(_ path: String) -> Bool {
        path.unicodeScalars.contains { $0 == "*" || $0 == "?" || $0 == "[" || $0 == "\\" }
    }

    /// The segment without escapes, for a pattern with no real wildcard.
    static func unescaped(_ segment: String) -> String {
        var out = String.UnicodeScalarView()
        var escaped = false
        for scalar in segment.unicodeScalars {
            if scalar == "\\" && !escaped { escaped = true; continue }
            escaped = false
            out.append(scalar)
        }
        return String(out)
    }

    /// Whether `name` (one segment) matches; a malformed pattern matches nothing, as Go
    /// reports `ErrBadPattern`, which `filepath.Glob` treats as no match.
    func matches(_ name: String) -> Bool {
        (try? match(pattern[...], Array(name.unicodeScalars)[...])) ?? false
    }

    private struct BadPattern: Error {}

    private func match(_ pattern: ArraySlice<Unicode.Scalar>, _ name: ArraySlice<Unicode.Scalar>) throws(BadPattern) -> Bool {
        var p = pattern.startIndex
        var n = name.startIndex
        while p < pattern.endIndex {
            let c = pattern[p]
            switch c {
            case "*":
                let rest = pattern[(p + 1)...]
                if rest.isEmpty { return !name[n...].contains("/") }
                var i = n
                while true {
                    if try match(rest, name[i...]) { return true }
                    if i == name.endIndex || name[i] == "/" { return false }
                    i += 1
                }
            case "?":
                guard n < name.endIndex, name[n] != "/" else { return false }
                p += 1; n += 1
            case "[":
                guard n < name.endIndex else { _ = try classEnd(pattern, from: p); return false }
                let (matched, end) = try matchClass(pattern, from: p, scalar: name[n])
                guard matched else { return false }
                p = end; n += 1
            case "\\":
                p += 1
                guard p < pattern.endIndex else { throw BadPattern() }
                guard n < name.endIndex, name[n] == pattern[p] else { return false }
                p += 1; n += 1
            default:
                guard n < name.endIndex, name[n] == c else { return false }
                p += 1; n += 1
            }
        }
        return n == name.endIndex
    }

    private func classEnd(_ pattern: ArraySlice<Unicode.Scalar>, from start: Int) throws(BadPattern) -> Int {
        try matchClass(pattern, from: start, scalar: "/").end
    }

    /// Matches `[…]` at `start` against `scalar`; returns whether it matched and the index
    /// after `]`.
    private func matchClass(_ pattern: ArraySlice<Unicode.Scalar>, from start: Int,
                            scalar: Unicode.Scalar) throws(BadPattern) -> (matched: Bool, end: Int) {
        var i = start + 1
        var negated = false
        if i < pattern.endIndex, pattern[i] == "^" { negated = true; i += 1 }
        var matched = false
        var first = true
        while true {
            guard i < pattern.endIndex else { throw BadPattern() }
            if pattern[i] == "]" && !first { i += 1; break }
            first = false
            let low = try classScalar(pattern, &i)
            var high = low
            if i < pattern.endIndex, pattern[i] == "-" {
                i += 1
                high = try classScalar(pattern, &i)
            }
            if low <= scalar && scalar <= high { matched = true }
        }
        return (matched != negated && scalar != "/", i)
    }

    private func classScalar(_ pattern: ArraySlice<Unicode.Scalar>, _ i: inout Int) throws(BadPattern) -> Unicode.Scalar {
        guard i < pattern.endIndex, pattern[i] != "-", pattern[i] != "]" else { throw BadPattern() }
        if pattern[i] == "\\" {
            i += 1
            guard i < pattern.endIndex else { throw BadPattern() }
        }
        defer { i += 1 }
        return pattern[i]
    }
}
