/// Lexical `/`-separated path operations with exactly the results of Go's `path/filepath`
/// on Unix, because `.dockerignore` semantics are defined in terms of them.
enum SlashPath {
    /// Go's `filepath.Clean`: drops `.` segments and empty segments, resolves `x/..`
    /// lexically, keeps `..` that cannot be resolved in a relative path, drops `..` right
    /// after the root, removes a trailing `/`; the empty result is `.` (or `/` when rooted).
    static func clean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.utf8.first == UInt8(ascii: "/")
        var kept: [Substring] = []
        // How many leading `..` segments `kept` holds: those can never be popped again.
        var unresolvableParents = 0
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".":
                continue
            case "..":
                if kept.count > unresolvableParents {
                    kept.removeLast()
                } else if !rooted {
                    kept.append(segment)
                    unresolvableParents += 1
                }
            default:
                kept.append(segment)
            }
        }
        let joined = kept.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Go's `filepath.Dir`: everything before the last `/`, cleaned (`.` when there is no `/`).
    static func dir(_ path: String) -> String {
        guard let lastSlash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return clean(String(path[...lastSlash]))
    }

    /// Whether `clean(path)` would return `path` unchanged, checked without allocating,
    /// so the hot matching path can skip the general algorithm for ordinary relative paths.
    static func isClean(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = path.count
        if count == 0 { return false }
        if count == 1 { return true }  // ".", "/" and any one-byte name are already clean
        if path[count - 1] == UInt8(ascii: "/") { return false }
        var segmentStart = path[0] == UInt8(ascii: "/") ? 1 : 0
        var index = segmentStart
        while index <= count {
            if index == count || path[index] == UInt8(ascii: "/") {
                let length = index - segmentStart
                if length == 0 { return false }
                if path[segmentStart] == UInt8(ascii: "."),
                   length == 1 || (length == 2 && path[segmentStart + 1] == UInt8(ascii: ".")) {
                    return false
                }
                segmentStart = index + 1
            }
            index += 1
        }
        return true
    }
}
