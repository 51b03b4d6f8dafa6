#if canImport(Glibc)
import Glibc
#endif

/// Paths inside a root directory, resolved the way a chroot would resolve them: `..` never
/// climbs above the root and a symlink's target, absolute or relative, is read inside the
/// root. This is how a source like `../x` or a context symlink to `/etc/passwd` stays in the
/// context, and how `/lib/x` lands in `/usr/lib` of a merged-/usr rootfs without a symlink
/// ever leading out of it.
enum ContainedPath {
    /// Symlinks followed while resolving one path before giving up (Linux's own limit).
    static let maxSymlinkHops = 40

    /// The components of `path` with `.`, empty components and `..` resolved lexically, the
    /// root being the floor (Go's `path.Clean` of `"/" + path`, without the leading slash).
    static func components(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(String(part))
        }
        return out
    }

    /// `path` cleaned to an absolute path (`/` for the root).
    static func absolute(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }

    /// The host path that `path` names inside `root`, following symlinks inside the root
    /// (the final component's only with `followFinal`). Missing components are kept as they
    /// are; with `create`, every missing component is made a directory (0755, owned by
    /// `owner`, else by the caller, i.e. root).
    ///
    /// - Returns: the resolved path relative to the root, as components.
    static func resolve(_ path: String, in root: String, followFinal: Bool,
                        create: Bool = false, owner: (uid: UInt32, gid: UInt32)? = nil) throws(FileOperationError) -> [String] {
        var resolved: [String] = []
        var pending = Array(components(path).reversed())
        var hops = 0
        var missing = false
        while let component = pending.popLast() {
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                missing = false
                continue
            }
            let candidate = join(root, resolved + [component])
            if missing {
                resolved.append(component)
                continue
            }
            var info = stat()
            guard lstat(candidate, &info) == 0 else {
                guard errno == ENOENT else { throw .system("lstat", candidate, errno) }
                if create {
                    try makeDirectory(candidate, mode: 0o755)
                    if let owner, lchown(candidate, owner.uid, owner.gid) != 0 { throw .system("lchown", candidate, errno) }
                } else {
                    // Nothing below a missing component can be a symlink.
                    missing = true
                }
                resolved.append(component)
                continue
            }
            let isLast = pending.isEmpty
            guard info.st_mode & S_IFMT == S_IFLNK, followFinal || !isLast else {
                resolved.append(component)
                continue
            }
            hops += 1
            guard hops <= maxSymlinkHops else {
                throw FileOperationError("too many levels of symbolic links resolving \(path)")
            }
            let target = try readLink(candidate)
            if target.hasPrefix("/") { resolved.removeAll() }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return resolved
    }

    /// Makes the directory `path` with exactly `mode` (the process umask never matters);
    /// an existing directory is left as it is.
    static func makeDirectory(_ path: String, mode: mode_t) throws(FileOperationError) {
        guard mkdir(path, 0o700) == 0 else {
            guard errno == EEXIST else { throw .system("mkdir", path, errno) }
            return
        }
        guard chmod(path, mode) == 0 else { throw .system("chmod", path, errno) }
    }

    /// `root` joined with relative components.
    static func join(_ root: String, _ components: [String]) -> String {
        guard !components.isEmpty else { return root }
        return (root.hasSuffix("/") ? root : root + "/") + components.joined(separator: "/")
    }

    /// The target of the symlink at `path`.
    static func readLink(_ path: String) throws(FileOperationError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw .system("readlink", path, errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
