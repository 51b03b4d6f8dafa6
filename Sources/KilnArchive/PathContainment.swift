#if canImport(Glibc)
import Glibc
#endif

/// A directory that layer entries are confined to, resolved like a chroot: symlinks met on
/// the way are followed, but an absolute target restarts at the root and `..` never climbs
/// above it. Every step is an `openat` with `O_NOFOLLOW` on an open descriptor, so no path
/// string outside the root is ever handed to the kernel.
final class ContainedRoot {
    let fd: Int32
    let path: String
    /// Symlinks followed while resolving one path before giving up (Linux's own limit).
    static let maxSymlinkHops = 40

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", path) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Why a path cannot be resolved inside the root.
    enum Failure: Error {
        case missing(String)
        case notADirectory(String)
        case symlinkLoop
        case system(String, Int32)
    }

    /// Opens the directory named by `components` (already free of `..`), following symlinks
    /// inside the root. With `create`, missing directories are made (mode 0755) and reported
    /// through `created` by their resolved path. The caller closes the returned descriptor.
    func openDirectory(_ components: [String], create: Bool,
                       created: (String) -> Void = { _ in }) throws(Failure) -> Int32 {
        // The stack of open directories from the root down; `..` pops, never past the root.
        var stack: [(fd: Int32, name: String)] = [(dup(fd), "")]
        // Whatever is still on the stack at exit is closed; the result is popped off first.
        defer { for entry in stack { close(entry.fd) } }
        var pending = Array(components.reversed())
        var hops = 0
        while let component = pending.popLast() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                if stack.count > 1 { close(stack.removeLast().fd) }
                continue
            }
            let current = stack.last!.fd
            let next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next >= 0 {
                stack.append((next, component))
                continue
            }
            let code = errno
            var info = stat()
            if fstatat(current, component, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                guard errno == ENOENT else { throw .system(component, errno) }
                guard create else { throw .missing(component) }
                guard mkdirat(current, component, 0o755) == 0 || errno == EEXIST else { throw .system(component, errno) }
                created((stack.dropFirst().map(\.name) + [component]).joined(separator: "/"))
                pending.append(component)
                continue
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                throw code == ENOTDIR || info.st_mode & S_IFMT != S_IFDIR ? .notADirectory(component) : .system(component, code)
            }
            hops += 1
            guard hops <= Self.maxSymlinkHops else { throw .symlinkLoop }
            guard let target = DirectoryReading.symlinkTarget(current, component) else { throw .system(component, errno) }
            if target.hasPrefix("/") {
                for entry in stack.dropFirst() { close(entry.fd) }
                stack.removeSubrange(1...)
            }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        let result = stack.removeLast().fd
        return result
    }

    /// Removes `name` in `directoryFD` and, for a directory, everything below it, never
    /// following a symlink. A missing entry is not an error.
    static func removeTree(_ directoryFD: Int32, _ name: String) throws(Failure) {
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
