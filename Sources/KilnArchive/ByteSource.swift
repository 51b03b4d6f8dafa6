#if canImport(Glibc)
import Glibc
#endif

/// Bytes read front to back, a buffer at a time: a layer blob being decoded. The content store
/// hands out sources that verify the blob's digest as they are read, so whatever decodes a
/// store blob through one checks it in the same pass.
public protocol ByteSource: AnyObject {
    /// Fills the start of `buffer` with the next bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Reads an open file descriptor it does not own (the caller closes it).
final class FileDescriptorSource: ByteSource {
    private let fd: Int32
    private let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try FileDescriptorIO.read(fd, into: buffer, path: path)
    }
}
