import Glibc

/// Reads a directory tree with `openat`/`readdir`/`fstatat`/`llistxattr`: no Foundation, no
/// path re-resolution from the root for each entry.
enum TreeWalker {
    /// One directory waiting to be read.
    struct Pending: Sendable {
        var relativePath: String
    }

    /// Reads the entries directly inside `relativePath` of `root`: their metadata, and the
    /// subdirectories still to read (those on the root's filesystem only).
    static func readDirectory(root: String, relativePath: String, rootDevice: UInt64,
                              into entries: inout [(String, FileMetadata)]) throws(StorageError) -> [Pending] {
        let absolute = relativePath.isEmpty ? root : "\(root)/\(relativePath)"
        let fd = try posix("open", absolute) { open(absolute, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard let dir = fdopendir(fd) else {
            let code = errno
            close(fd)
            throw StorageError.system(operation: "fdopendir", path: absolute, errno: code)
        }
        defer { closedir(dir) }
        var subdirectories: [Pending] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw StorageError.system(operation: "readdir", path: absolute, errno: errno) }
                break
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let relative = relativePath.isEmpty ? name : "\(relativePath)/\(name)"
            guard let metadata = try readMetadata(directoryFD: fd, name: name, absolutePath: "\(absolute)/\(name)") else {
                continue
            }
            entries.append((relative, metadata))
            if metadata.kind == .directory && metadata.device == rootDevice {
                subdirectories.append(Pending(relativePath: relative))
            }
        }
        return subdirectories
    }

    /// Reads everything below `start` depth first.
    static func walk(root: String, from start: Pending, rootDevice: UInt64,
                     into entries: inout [(String, FileMetadata)]) throws(StorageError) {
        var stack = [start]
        while let next = stack.popLast() {
            stack += try readDirectory(root: root, relativePath: next.relativePath, rootDevice: rootDevice, into: &entries)
        }
    }

    /// The metadata of `name` inside the open directory; nil when it vanished meanwhile.
    static func readMetadata(directoryFD: Int32, name: String, absolutePath: String) throws(StorageError) -> FileMetadata? {
        switch FileStatus.read(directoryFD: directoryFD, path: name) {
        case .success(let status):
            return try metadata(of: status, directoryFD: directoryFD, name: name, absolutePath: absolutePath)
        case .failure(let error):
            if error.code == ENOENT { return nil }
            throw StorageError.system(operation: "statx", path: absolutePath, errno: error.code)
        }
    }

    /// The metadata of a path, without following a final symlink; nil when it does not exist.
    static func readMetadata(absolutePath: String) throws(StorageError) -> FileMetadata? {
        try readMetadata(directoryFD: AT_FDCWD, name: absolutePath, absolutePath: absolutePath)
    }

    private static func metadata(of status: FileStatus, directoryFD: Int32, name: String,
                                 absolutePath: String) throws(StorageError) -> FileMetadata? {
        guard let kind = FileMetadata.Kind(mode: mode_t(status.mode)) else { return nil }
        var target: String?
        if kind == .symlink {
            target = try readLink(directoryFD: directoryFD, name: name, absolutePath: absolutePath)
        }
        return FileMetadata(
            kind: kind, permissions: status.mode & 0o7777, uid: status.uid, gid: status.gid,
            size: status.size, mtime: status.mtime, ctime: status.ctime, birthTime: status.birthTime,
            device: status.device, inode: status.inode, linkCount: status.linkCount,
            rdev: (kind == .characterDevice || kind == .blockDevice) ? status.rdev : 0,
            symlinkTarget: target, xattrs: try readXattrs(absolutePath))
    }

    static func readLink(directoryFD: Int32, name: String, absolutePath: String) throws(StorageError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try posix("readlink", absolutePath) { readlinkat(directoryFD, name, &buffer, buffer.count - 1) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// All extended attributes of `path` (not following a symlink). Most entries have none, so
    /// the common case costs one `llistxattr` into a stack buffer.
    static func readXattrs(_ path: String) throws(StorageError) -> [String: [UInt8]] {
        var names = [CChar](repeating: 0, count: 1024)
        var length = LinuxCalls.llistxattr(path, &names, names.count)
        while length < 0 {
            switch errno {
            case ENOTSUP, ENOENT: return [:]
            case ERANGE:
                let needed = LinuxCalls.llistxattr(path, nil, 0)
                guard needed >= 0 else { continue }
                names = [CChar](repeating: 0, count: needed + 1)
                length = LinuxCalls.llistxattr(path, &names, names.count)
            default:
                throw StorageError.system(operation: "llistxattr", path: path, errno: errno)
            }
        }
        if length == 0 { return [:] }
        var result: [String: [UInt8]] = [:]
        var start = 0
        while start < length {
            var end = start
            while end < length && names[end] != 0 { end += 1 }
            let name = String(decoding: names[start..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            start = end + 1
            if let value = try readXattr(path, name) { result[name] = value }
        }
        return result
    }

    private static func readXattr(_ path: String, _ name: String) throws(StorageError) -> [UInt8]? {
        while true {
            let size = LinuxCalls.lgetxattr(path, name, nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw StorageError.system(operation: "lgetxattr \(name)", path: path, errno: errno)
            }
            var value = [UInt8](repeating: 0, count: size)
            let read = value.withUnsafeMutableBytes { LinuxCalls.lgetxattr(path, name, $0.baseAddress, size) }
            if read >= 0 { return Array(value[..<read]) }
            // The value grew between the two calls: ask again.
            if errno != ERANGE { throw StorageError.system(operation: "lgetxattr \(name)", path: path, errno: errno) }
        }
    }
}
