#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KilnArchive

/// Paths inside a root directory, resolved the way a chroot would resolve them: `..` never
/// climbs above the root and a symlink's target, absolute or relative, is read inside the
/// root. This is how a source like `../x` or a context symlink to `/etc/passwd` stays in the
/// context, and how `/lib/x` lands in `/usr/lib` of a merged-/usr rootfs without a symlink
/// ever leading out of it.
public enum ContainedPath {
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
    /// (the final component's only with `followFinal`), through the one resolver
    /// (`KilnArchive.ContainedRoot`). Missing components are kept as they are; with
    /// `create`, every missing component is made a directory (0755, owned by `owner`, else by
    /// the caller, i.e. root).
    ///
    /// - Returns: the resolved path relative to the root, as components.
    public static func resolve(_ path: String, in root: String, followFinal: Bool,
                        create: Bool = false, owner: (uid: UInt32, gid: UInt32)? = nil) throws(FileOperationError) -> [String] {
        let contained: ContainedRoot
        do { contained = try ContainedRoot(path: root) } catch { throw FileOperationError("cannot open \(root): \(error)") }
        do {
            return try contained.resolve(components(path).joined(separator: "/"), followFinal: followFinal, create: create,
                                         owner: owner)
        } catch .symlinkLoop {
            throw FileOperationError("too many levels of symbolic links resolving \(path)")
        } catch {
            throw FileOperationError("cannot resolve \(path): \(error)")
        }
    }

    /// Creates `path` (absolute, in-container) and its missing parents in `rootfs`, as
    /// `mkdir -p` in the container would (WORKDIR): symlinks followed inside the rootfs.
    public static func makeDirectories(_ path: String, in rootfs: URL) throws(FileOperationError) {
        _ = try resolve(path, in: rootfs.path, followFinal: true, create: true)
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
    public static func join(_ root: String, _ components: [String]) -> String {
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
