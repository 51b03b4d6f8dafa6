#if canImport(Glibc)
import Glibc
#endif

/// The directory a layer is written from, read without ever following a symlink: a parent
/// that turned into a symlink (say, to `/etc`) is refused, so host files never leak into a
/// layer. Parents are opened component by component with `O_NOFOLLOW`; the last parent stays
/// open because sorted changes visit siblings one after another.
final class SourceTree {
    let rootFD: Int32
    let rootPath: String
    private var cachedParent: (path: String, fd: Int32)?

    init(root: String) throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", root) }
        rootFD = fd
        rootPath = root
    }

    deinit {
        if let cachedParent, cachedParent.fd != rootFD { close(cachedParent.fd) }
        close(rootFD)
    }

    /// The open directory holding `path`'s last component, and that component.
    /// The descriptor is owned by the tree and valid until the next call.
    func parent(of path: String) throws -> (fd: Int32, name: String) {
        let (parentPath, name) = ArchivePath.split(path)
        if parentPath.isEmpty { return (rootFD, name) }
        if let cachedParent, cachedParent.path == parentPath { return (cachedParent.fd, name) }
        var fd = rootFD
        for component in parentPath.split(separator: "/", omittingEmptySubsequences: true) {
            let next = openat(fd, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            if fd != rootFD { close(fd) }
            guard next >= 0 else {
                if code == ELOOP || code == ENOTDIR {
                    throw ArchiveError.invalidSource(path: path, reason: "a parent is not a directory (symlinks are not followed)")
                }
                throw ArchiveError.system(operation: "open", path: parentPath, errno: code)
            }
            fd = next
        }
        if let cachedParent, cachedParent.fd != rootFD { close(cachedParent.fd) }
        cachedParent = (parentPath, fd)
        return (fd, name)
    }

    /// lstat of `path`.
    func status(of path: String) throws -> (fd: Int32, name: String, stat: stat) {
        let (fd, name) = try parent(of: path)
        var info = stat()
        guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw ArchiveError.lastSystemError("lstat", path)
        }
        return (fd, name, info)
    }

    /// Every path below the root, sorted component-wise (parents before children).
    func allPaths() throws -> [String] {
        var paths: [String] = []
        try walk(directoryFD: rootFD, prefix: "", into: &paths)
        return paths.sorted { ArchivePath.sortKey($0).lexicographicallyPrecedes(ArchivePath.sortKey($1)) }
    }

    private func walk(directoryFD: Int32, prefix: String, into paths: inout [String]) throws {
        guard let entries = DirectoryReading.entries(of: directoryFD) else {
            throw ArchiveError.lastSystemError("opendir", prefix.isEmpty ? rootPath : prefix)
        }
        for entry in entries {
            let path = ArchivePath.join(prefix, entry.name)
            paths.append(path)
            var isDirectory = entry.type == UInt8(DT_DIR)
            if entry.type == UInt8(DT_UNKNOWN) {
                var info = stat()
                isDirectory = fstatat(directoryFD, entry.name, &info, AT_SYMLINK_NOFOLLOW) == 0
                    && info.st_mode & S_IFMT == S_IFDIR
            }
            guard isDirectory else { continue }
            let childFD = openat(directoryFD, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard childFD >= 0 else { throw ArchiveError.lastSystemError("open", path) }
            defer { close(childFD) }
            try walk(directoryFD: childFD, prefix: path, into: &paths)
        }
    }
}
