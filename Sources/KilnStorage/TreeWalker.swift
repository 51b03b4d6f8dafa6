import Glibc
import KilnArchive

/// Reads a directory tree with `openat`/`readdir`/`statx`/`llistxattr`: no Foundation, no
/// path re-resolution from the root for each entry.
enum TreeWalker {
    /// One directory waiting to be read.
    struct Pending: Sendable {
        var relativePath: String
    }

    /// Reads the entries directly inside `relativePath` of `root`: their metadata, and the
    /// subdirectories still to read (those on the root's filesystem only).
    ///
    /// An entry whose inode, birth time and ctime match its record in `baseline` takes its
    /// xattrs and symlink target from there: changing either moves the ctime, so an unchanged
    /// tree costs one `statx` per entry.
    static func readDirectory(root: String, relativePath: String, rootDevice: UInt64, baseline: [String: FileMetadata]?,
                              into entries: inout [String: FileMetadata]) throws(StorageError) -> [Pending] {
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
            let decoded = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(validatingCString: $0) }
            }
            // Paths are Strings throughout Kiln; a name that is not UTF-8 would come out changed,
            // so it is an error rather than an entry silently lost.
            guard let name = decoded else {
                throw StorageError.system(operation: "read entry name (not UTF-8) in", path: absolute, errno: EILSEQ)
            }
            if name == "." || name == ".." { continue }
            let relative = relativePath.isEmpty ? name : "\(relativePath)/\(name)"
            let status: FileStatus
            switch FileStatus.read(directoryFD: fd, path: name) {
            case .success(let read): status = read
            case .failure(let error) where error.code == ENOENT: continue  // removed meanwhile
            case .failure(let error): throw StorageError.system(operation: "statx", path: "\(absolute)/\(name)", errno: error.code)
            }
            let metadata: FileMetadata
            if let old = baseline?[relative], old.ctime == status.ctime, old.inode == status.inode,
               old.device == status.device, old.birthTime == status.birthTime,
               let reused = FileMetadata(status, symlinkTarget: old.symlinkTarget, xattrs: old.entryXattrs), reused.kind == old.kind {
                metadata = reused
            } else {
                guard let read = try describe(status, directoryFD: fd, name: name, absolutePath: "\(absolute)/\(name)") else {
                    continue
                }
                metadata = read
            }
            entries[relative] = metadata
            if metadata.kind == .directory && metadata.device == rootDevice {
                subdirectories.append(Pending(relativePath: relative))
            }
        }
        return subdirectories
    }

    /// Reads everything below `start` depth first.
    static func walk(root: String, from start: Pending, rootDevice: UInt64, baseline: [String: FileMetadata]?,
                     into entries: inout [String: FileMetadata]) throws(StorageError) {
        var stack = [start]
        while let next = stack.popLast() {
            stack += try readDirectory(root: root, relativePath: next.relativePath, rootDevice: rootDevice,
                                       baseline: baseline, into: &entries)
        }
    }

    /// The metadata of `name` inside the open directory; nil when it vanished meanwhile.
    static func readMetadata(directoryFD: Int32, name: String, absolutePath: String) throws(StorageError) -> FileMetadata? {
        switch FileStatus.read(directoryFD: directoryFD, path: name) {
        case .success(let status):
            return try describe(status, directoryFD: directoryFD, name: name, absolutePath: absolutePath)
        case .failure(let error):
            if error.code == ENOENT { return nil }
            throw StorageError.system(operation: "statx", path: absolutePath, errno: error.code)
        }
    }

    /// The metadata of a path, without following a final symlink; nil when it does not exist.
    static func readMetadata(absolutePath: String) throws(StorageError) -> FileMetadata? {
        try readMetadata(directoryFD: AT_FDCWD, name: absolutePath, absolutePath: absolutePath)
    }

    private static func describe(_ status: FileStatus, directoryFD: Int32, name: String,
                                absolutePath: String) throws(StorageError) -> FileMetadata? {
        guard let kind = FileMetadata.Kind(mode: mode_t(status.mode)) else { return nil }
        let target = kind == .symlink ? try readLink(directoryFD: directoryFD, name: name, absolutePath: absolutePath) : nil
        return FileMetadata(status, symlinkTarget: target, xattrs: try readXattrs(absolutePath))
    }

    static func readLink(directoryFD: Int32, name: String, absolutePath: String) throws(StorageError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try posix("readlink", absolutePath) { readlinkat(directoryFD, name, &buffer, buffer.count - 1) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The attributes of `path` (not following a symlink) as KilnArchive's one reader splits them.
    static func readXattrs(_ path: String) throws(StorageError) -> EntryXattrs {
        do {
            return try Xattrs.read(path: path)
        } catch {
            throw StorageError.system(operation: error.operation, path: path, errno: error.errno)
        }
    }
}
