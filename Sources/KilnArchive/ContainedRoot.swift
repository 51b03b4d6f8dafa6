#if canImport(Glibc)
import Glibc
#endif

/// A root directory that paths are resolved in the way a chroot resolves them — the one
/// contained-path resolver of Kiln: layer entries (``LayerApplier``), COPY/ADD sources and
/// destinations, WORKDIR, and the sources of `RUN --mount` all go through it.
///
/// Symlinks met on the way are followed, but an absolute target restarts at the root and `..`
/// never climbs above it: `/lib -> usr/lib` of a merged-/usr rootfs works, and a link to
/// `/etc` or `../../..` lands inside the root. Every step is an `openat` with `O_NOFOLLOW` on
/// an open descriptor, so no path string outside the root is ever handed to the kernel, and a
/// component swapped for a symlink while it is resolved fails rather than leads out.
public final class ContainedRoot {
    /// The root, open.
    public let fd: Int32
    /// The root's path.
    public let path: String
    /// Symlinks followed while resolving one path before giving up (Linux's own limit).
    public static let maxSymlinkHops = 40

    /// Opens the root at `path`.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", path) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Why a path cannot be resolved inside the root.
    public enum Failure: Error, CustomStringConvertible {
        /// A component does not exist (and was not to be created).
        case missing(String)
        /// A component that must be a directory is something else.
        case notADirectory(String)
        /// More than ``ContainedRoot/maxSymlinkHops`` symlinks.
        case symlinkLoop
        /// A system call failed on a component.
        case system(String, Int32)

        public var description: String {
            switch self {
            case .missing(let name): return "\(name): no such file or directory"
            case .notADirectory(let name): return "\(name): not a directory"
            case .symlinkLoop: return "too many levels of symbolic links"
            case .system(let name, let code): return "\(name): \(String(cString: strerror(code)))"
            }
        }
    }

    /// What one walk found: the open directories from the root down (their names), and the
    /// trailing components below the last directory (a final non-directory, an unfollowed
    /// final symlink, or missing components kept as they are).
    private struct Walk {
        var stack: [(fd: Int32, name: String)]
        var rest: [String] = []

        func close() { for entry in stack { Glibc.close(entry.fd) } }
        var components: [String] { stack.dropFirst().map(\.name) + rest }
    }

    /// The resolver itself. `components` are walked from the root; `..` pops, never past it.
    /// A missing component is made a directory (mode `mode` exactly, owned by `owner`) with
    /// `create`, else it and the rest are kept as they are (`missingIsError` throws instead).
    private func walk(_ components: [String], followFinal: Bool, create: Bool, missingIsError: Bool,
                      mode: mode_t = 0o755, owner: (uid: UInt32, gid: UInt32)? = nil,
                      created: (String) -> Void = { _ in }) throws(Failure) -> Walk {
        var walk = Walk(stack: [(dup(fd), "")])
        var pending = Array(components.reversed())
        var hops = 0
        do throws(Failure) {
            while let component = pending.popLast() {
                if component.isEmpty || component == "." { continue }
                if component == ".." {
                    if walk.stack.count > 1 { Glibc.close(walk.stack.removeLast().fd) }
                    continue
                }
                let current = walk.stack.last!.fd
                var info = stat()
                if fstatat(current, component, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                    guard errno == ENOENT else { throw Failure.system(component, errno) }
                    if create {
                        guard mkdirat(current, component, 0o700) == 0 || errno == EEXIST else { throw Failure.system(component, errno) }
                        let made = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        guard made >= 0 else { throw Failure.system(component, errno) }
                        // The mode exactly, whatever the umask; the owner before it (chown
                        // clears set-id bits).
                        if let owner, fchown(made, owner.uid, owner.gid) != 0 { Glibc.close(made); throw Failure.system(component, errno) }
                        guard fchmod(made, mode) == 0 else { Glibc.close(made); throw Failure.system(component, errno) }
                        walk.stack.append((made, component))
                        created(walk.components.joined(separator: "/"))
                        continue
                    }
                    if missingIsError { throw Failure.missing(component) }
                    // Nothing below a missing component can be a symlink: keep the rest lexically.
                    walk.rest = [component]
                    while let next = pending.popLast() {
                        if next.isEmpty || next == "." { continue }
                        if next == ".." {
                            if !walk.rest.isEmpty { walk.rest.removeLast() } else if walk.stack.count > 1 { Glibc.close(walk.stack.removeLast().fd) }
                            continue
                        }
                        walk.rest.append(next)
                    }
                    return walk
                }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    let next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard next >= 0 else { throw Failure.system(component, errno) }
                    walk.stack.append((next, component))
                case S_IFLNK where followFinal || !pending.isEmpty:
                    hops += 1
                    guard hops <= Self.maxSymlinkHops else { throw Failure.symlinkLoop }
                    guard let target = DirectoryReading.symlinkTarget(current, component) else { throw Failure.system(component, errno) }
                    if target.hasPrefix("/") {
                        for entry in walk.stack.dropFirst() { Glibc.close(entry.fd) }
                        walk.stack.removeSubrange(1...)
                    }
                    pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                default:
                    // A file, a device, or a final symlink not followed: the end of the path.
                    guard pending.allSatisfy({ $0.isEmpty || $0 == "." }) else { throw Failure.notADirectory(component) }
                    walk.rest = [component]
                    return walk
                }
            }
            return walk
        } catch {
            walk.close()
            throw error
        }
    }

    /// Resolves `path` (absolute or relative; both start at the root) inside the root,
    /// following symlinks inside it — the final component's only with `followFinal`. Missing
    /// components are kept as they are, or with `create` made directories (mode `mode`
    /// exactly, owned by `owner`, else by the caller).
    ///
    /// - Returns: the resolved path relative to the root, as components.
    public func resolve(_ path: String, followFinal: Bool, create: Bool = false, mode: mode_t = 0o755,
                        owner: (uid: UInt32, gid: UInt32)? = nil) throws(Failure) -> [String] {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let walk = try walk(components, followFinal: followFinal, create: create, missingIsError: false, mode: mode, owner: owner)
        defer { walk.close() }
        return walk.components
    }

    /// The host path of `components` below the root.
    public func hostPath(_ components: [String]) -> String {
        components.isEmpty ? path : (path.hasSuffix("/") ? path : path + "/") + components.joined(separator: "/")
    }

    /// Opens the directory named by `components` (already free of `..`), following symlinks
    /// inside the root. With `create`, missing directories are made (mode 0755) and reported
    /// through `created` by their resolved path. The caller closes the returned descriptor.
    func openDirectory(_ components: [String], create: Bool,
                       created: (String) -> Void = { _ in }) throws(Failure) -> Int32 {
        var walk = try walk(components, followFinal: true, create: create, missingIsError: true, created: created)
        guard walk.rest.isEmpty else {
            walk.close()
            throw .notADirectory(walk.rest[0])
        }
        let result = walk.stack.removeLast().fd
        walk.close()
        return result
    }

    /// Opens the directory `path` (absolute or relative; both start at the root), following
    /// symlinks inside the root, and returns it with its resolved path below the root. With
    /// `create`, missing directories are made (mode 0755) and reported through `created` by
    /// their resolved path. The caller closes the returned descriptor.
    public func openDirectory(resolving path: String, create: Bool,
                              created: (String) -> Void = { _ in }) throws(Failure) -> (fd: Int32, components: [String]) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var walk = try walk(components, followFinal: true, create: create, missingIsError: true, created: created)
        guard walk.rest.isEmpty else {
            walk.close()
            throw .notADirectory(walk.rest[0])
        }
        let resolved = walk.components
        let result = walk.stack.removeLast().fd
        walk.close()
        return (result, resolved)
    }

    /// Removes `name` in `directoryFD` and, for a directory, everything below it, never
    /// following a symlink. A missing entry is not an error.
    public static func removeTree(_ directoryFD: Int32, _ name: String) throws(Failure) {
        var info = stat()
        guard fstatat(directoryFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw .system(name, errno)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            let child = openat(directoryFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { throw .system(name, errno) }
            defer { close(child) }
            guard let entries = DirectoryReading.entries(of: child) else { throw .system(name, errno) }
            for entry in entries { try removeTree(child, entry.name) }
            guard unlinkat(directoryFD, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw .system(name, errno) }
        } else {
            guard unlinkat(directoryFD, name, 0) == 0 || errno == ENOENT else { throw .system(name, errno) }
        }
    }
}
