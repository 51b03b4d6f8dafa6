import Glibc
import KilnArchive
import KilnOCI

/// The write end of one content-store ingest: bytes go to a private temp file and are hashed
/// and counted on the way, so verification needs no second read.
public struct BlobWriter: ~Copyable {
    let fd: Int32
    let path: String
    let expectedSize: Int64?
    /// The disk reserve, passed before every chunk.
    let gate: WriteGate
    private(set) var hasher = DigestHasher()

    init(fd: Int32, path: String, expectedSize: Int64?, gate: WriteGate) {
        self.fd = fd
        self.path = path
        self.expectedSize = expectedSize
        self.gate = gate
    }

    /// Bytes written so far.
    public var byteCount: Int64 { hasher.byteCount }

    /// Appends `bytes`. Fails early when the blob grows past its promised size, when the
    /// surrounding task was cancelled, and when the disk reserve is reached.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Task.checkCancellation()
        try gate.passBytes(bytes.count)
        if let expectedSize, byteCount + Int64(bytes.count) > expectedSize {
            throw StorageError.sizeMismatch(expected: expectedSize, actual: byteCount + Int64(bytes.count))
        }
        var offset = 0
        while offset < bytes.count {
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let written = try posix("write", path) { Glibc.write(fd, chunk.baseAddress, chunk.count) }
            offset += written
        }
        hasher.update(bytes)
    }

    /// Appends `bytes`.
    public mutating func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws {
        let array = Array(bytes)
        try array.withUnsafeBytes { try write($0) }
    }
}
