#if canImport(Glibc)
import Glibc
#endif

/// Thin, EINTR-safe wrappers over read/write on raw descriptors; the pipeline stays on
/// descriptors so that no layer is ever buffered whole by a higher-level file API.
enum FileDescriptorIO {
    /// Writes all of `bytes` to `fd`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = Glibc.write(fd, base, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.lastSystemError("write", path)
            }
            remaining -= n
            base += n
        }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ArchiveError.lastSystemError("read", path)
        }
    }
}

/// Writes a pipeline's output to a file descriptor it owns.
final class FileSink: ByteSink {
    private let fd: Int32
    private let path: String

    /// Creates (or truncates) `path` for writing.
    init(creating path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("create", path) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileDescriptorIO.writeAll(fd, bytes, path: path)
    }

    func finish() throws {}
}
