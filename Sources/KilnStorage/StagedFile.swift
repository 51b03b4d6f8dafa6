import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file written under a hidden temporary name beside its destination and renamed into place
/// only once complete and flushed, so readers see the old file or the whole new one, never a
/// prefix. Dropped without ``commit()`` (an error on the way), it removes itself.
public final class StagedFile {
    /// Where the file goes on commit.
    public let destination: URL
    /// The temporary name it is written under.
    public let temporary: URL
    private var fd: Int32
    private var committed = false

    /// Creates the temporary file beside `destination` (same directory, so rename is atomic).
    public init(destination: URL, mode: mode_t = 0o644) throws {
        self.destination = destination
        let directory = destination.deletingLastPathComponent()
        temporary = directory.appendingPathComponent(".\(destination.lastPathComponent).kiln-tmp-\(UUID().uuidString)")
        fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.system(operation: "create", path: temporary.path, errno: errno) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporary.path) }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw StorageError.system(operation: "write", path: temporary.path, errno: errno) }
            offset += count
        }
    }

    /// Appends `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Flushes to disk and renames over the destination.
    public func commit() throws {
        guard fsync(fd) == 0 else { throw StorageError.system(operation: "fsync", path: temporary.path, errno: errno) }
        close(fd)
        fd = -1
        guard rename(temporary.path, destination.path) == 0 else {
            throw StorageError.system(operation: "rename", path: destination.path, errno: errno)
        }
        committed = true
    }

    /// Writes `data` to `destination` atomically.
    public static func write(_ data: Data, to destination: URL) throws {
        let file = try StagedFile(destination: destination)
        try file.write(data)
        try file.commit()
    }
}
