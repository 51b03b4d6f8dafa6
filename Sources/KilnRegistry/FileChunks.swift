#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A byte range of a file as a sequence of buffers, read on demand so an upload body never sits
/// in memory whole.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// The file.
    var path: String
    /// Where the range starts.
    var offset: Int64
    /// How many bytes it has.
    var length: Int64
    /// The size of each buffer.
    var chunkSize = 1 << 20

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: Reader(path: path), position: offset, end: offset + length, chunkSize: chunkSize)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: Reader
        var position: Int64
        let end: Int64
        let chunkSize: Int

        mutating func next() async throws -> ByteBuffer? {
            guard position < end else { return nil }
            let wanted = Int(Swift.min(Int64(chunkSize), end - position))
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            let descriptor = try reader.descriptor()
            let offset = position
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { bytes in
                let read = pread(descriptor, bytes.baseAddress, wanted, off_t(offset))
                guard read > 0 else { throw FileChunksError.readFailed(path: reader.path, errno: read < 0 ? errno : 0) }
                return read
            }
            position += Int64(count)
            return buffer
        }
    }

    /// Owns the descriptor, so it is closed when the upload finishes or is abandoned.
    final class Reader {
        let path: String
        private var fd: Int32 = -1

        init(path: String) { self.path = path }

        func descriptor() throws -> Int32 {
            if fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw FileChunksError.readFailed(path: path, errno: errno) }
            }
            return fd
        }

        deinit { if fd >= 0 { close(fd) } }
    }
}

/// A blob file could not be read for upload.
enum FileChunksError: Error, CustomStringConvertible {
    /// `read` failed, or the file ended before the range did (errno 0).
    case readFailed(path: String, errno: Int32)

    var description: String {
        switch self {
        case .readFailed(let path, let code):
            return code == 0 ? "\(path) ended early" : "cannot read \(path): \(String(cString: strerror(code)))"
        }
    }
}
