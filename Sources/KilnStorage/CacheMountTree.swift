import Foundation
import Glibc
import KilnOCI

/// A cache mount directory opened once and used only through paths relative to it that never
/// pass through a symbolic link: what a step left in the cache (or what an index from a
/// registry says) can make Kiln read or write nothing outside it.
final class CacheMountTree: @unchecked Sendable {  // immutable: one descriptor, closed at deinit
    /// The directory's descriptor.
    let fd: Int32
    /// Its path, for errors.
    let path: String

    init(_ url: URL) throws(StorageError) {
        path = url.path
        let path = self.path
        fd = try posix("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    deinit { close(fd) }

    /// Opens the directory holding `relativePath` (its parent components, none of them a
    /// symbolic link) and passes its descriptor and the final name to `body`; `createParents`
    /// makes missing ones (0755, owned by root, until an index entry says otherwise).
    func withParent<T>(of relativePath: String, createParents: Bool = false,
                       _ body: (Int32, String) throws -> T) throws -> T {
        var components = relativePath.split(separator: "/").map(String.init)
        guard let name = components.popLast() else {
            throw StorageError.system(operation: "resolve", path: "\(path)/\(relativePath)", errno: EINVAL)
        }
        var current = dup(fd)
        guard current >= 0 else { throw StorageError.system(operation: "dup", path: path, errno: errno) }
        defer { close(current) }
        for component in components {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && createParents {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    throw StorageError.system(operation: "mkdir", path: "\(path)/\(relativePath)", errno: errno)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard next >= 0 else {
                // ELOOP/ENOTDIR: a symbolic link or a file where a directory should be.
                throw StorageError.system(operation: "open directory", path: "\(path)/\(relativePath)", errno: errno)
            }
            close(current)
            current = next
        }
        return try body(current, name)
    }

    /// The SHA-256 of the regular file at `relativePath`, read without following links, and
    /// its status before and after: a file that changed while it was read is not described.
    func digest(of relativePath: String) throws -> (Digest, FileStatus)? {
        try withParent(of: relativePath) { parent, name in
            let file = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard file >= 0 else { throw StorageError.system(operation: "open", path: "\(path)/\(relativePath)", errno: errno) }
            defer { close(file) }
            var opened = stat()
            guard fstat(file, &opened) == 0, case .success(let before) = FileStatus.read(directoryFD: parent, path: name),
                  before.inode == UInt64(opened.st_ino), before.mode & UInt32(S_IFMT) == UInt32(S_IFREG) else { return nil }
            var hasher = DigestHasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try posix("read", "\(path)/\(relativePath)") { read(file, buffer.baseAddress, buffer.count) }
                if count == 0 { break }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
            guard case .success(let after) = FileStatus.read(directoryFD: parent, path: name),
                  after.inode == before.inode, after.mtime == before.mtime, after.ctime == before.ctime, after.size == before.size
            else { return nil }
            return (hasher.finalize(), after)
        }
    }

    /// The status of `relativePath` (not following a final link); nil when it does not exist
    /// or a parent is not a plain directory.
    func status(of relativePath: String) -> FileStatus? {
        try? withParent(of: relativePath) { parent, name in
            guard case .success(let status) = FileStatus.read(directoryFD: parent, path: name) else { return nil }
            return status
        }
    }

    /// Writes `entry` at its path: a file from `content` (a file Kiln owns, copied in the
    /// kernel where it can, or moved when `move`), a directory, or a link. A file or link is
    /// written under a temporary name and renamed over whatever non-directory was there;
    /// an existing directory keeps its contents.
    func write(_ entry: CacheMountIndex.Entry, content: URL?, move: Bool) throws {
        try withParent(of: entry.path, createParents: true) { parent, name in
            let where_ = "\(path)/\(entry.path)"
            switch entry.kind {
            case .directory:
                if mkdirat(parent, name, 0o700) != 0 {
                    guard errno == EEXIST, case .success(let existing) = FileStatus.read(directoryFD: parent, path: name),
                          existing.mode & UInt32(S_IFMT) == UInt32(S_IFDIR)
                    else { throw StorageError.system(operation: "mkdir", path: where_, errno: EEXIST) }
                }
                try setOwnerAndMode(parent, name, entry, path: where_)
            case .symlink:
                let temporary = Self.temporaryName()
                try posix("symlink", where_) { symlinkat(entry.target ?? "", parent, temporary) }
                try finish(parent, temporary, name, entry, path: where_)
            case .file:
                let temporary = Self.temporaryName()
                if let content, move {
                    try posix("rename", where_) { renameat(AT_FDCWD, content.path, parent, temporary) }
                } else {
                    let output = try posix("open", where_) {
                        openat(parent, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                    }
                    defer { close(output) }
                    if let content { try Self.copy(from: content.path, to: output, path: where_) }
                }
                try finish(parent, temporary, name, entry, path: where_)
            }
        }
    }

    /// Sets the mtime of a directory entry once everything inside it is written.
    func setModificationTime(of entry: CacheMountIndex.Entry) throws {
        if entry.path.isEmpty {
            var times = Self.times(entry)
            try posix("futimens", path) { futimens(fd, &times) }
            return
        }
        try withParent(of: entry.path) { parent, name in
            try Self.setTime(parent, name, entry, path: "\(path)/\(entry.path)", flags: AT_SYMLINK_NOFOLLOW)
        }
    }

    /// The root directory's owner and mode as an index says.
    func setRoot(_ entry: CacheMountIndex.Entry) throws {
        try posix("fchown", path) { fchown(fd, entry.uid, entry.gid) }
        try posix("fchmod", path) { fchmod(fd, mode_t(entry.mode & 0o7777)) }
    }

    /// Names of temporary files an import writes inside the cache; never part of a state.
    static let temporaryPrefix = ".kiln-import-"

    private static func temporaryName() -> String {
        temporaryPrefix + UUID().uuidString.lowercased()
    }

    private func finish(_ parent: Int32, _ temporary: String, _ name: String, _ entry: CacheMountIndex.Entry, path: String) throws {
        do {
            try setOwnerAndMode(parent, temporary, entry, path: path)
            try Self.setTime(parent, temporary, entry, path: path, flags: AT_SYMLINK_NOFOLLOW)
            if case .success(let existing) = FileStatus.read(directoryFD: parent, path: name),
               existing.mode & UInt32(S_IFMT) == UInt32(S_IFDIR) {
                throw StorageError.system(operation: "replace a directory at", path: path, errno: EISDIR)
            }
            try posix("rename", path) { renameat(parent, temporary, parent, name) }
        } catch {
            unlinkat(parent, temporary, 0)
            throw error
        }
    }

    private func setOwnerAndMode(_ parent: Int32, _ name: String, _ entry: CacheMountIndex.Entry, path: String) throws {
        try posix("chown", path) { fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
        if entry.kind != .symlink {
            // After chown, which clears set-id bits.
            try posix("chmod", path) { fchmodat(parent, name, mode_t(entry.mode & 0o7777), 0) }
        }
    }

    private static func setTime(_ parent: Int32, _ name: String, _ entry: CacheMountIndex.Entry, path: String, flags: Int32) throws {
        var times = Self.times(entry)
        try posix("utimensat", path) { utimensat(parent, name, &times, flags) }
    }

    /// Access time left alone, modification time as the entry says.
    private static func times(_ entry: CacheMountIndex.Entry) -> [timespec] {
        [timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit), timespec(tv_sec: Int(entry.mtime), tv_nsec: Int(entry.mtimeNanoseconds))]
    }

    private static func copy(from source: String, to output: Int32, path: String) throws {
        let input = try posix("open", source) { open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        defer { close(input) }
        try TreeCopier.copyContent(from: input, to: output, source: source, destination: path)
    }
}
