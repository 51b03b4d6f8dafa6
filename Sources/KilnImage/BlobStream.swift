import KilnArchive
import KilnOCI
import KilnStorage

/// Bytes read front to back, a buffer at a time: a blob on disk, a region of a tar file,
/// a content-store blob (verified as it is read), or a decompressed layer. Streams are used by
/// one thread at a time and never hold a whole blob in memory.
public protocol BlobStream: ByteSource {}

/// A stream that hashes the bytes it yields itself (a verifying store read, a decoder), so a
/// reader need not hash them a second time.
public protocol SelfHashingStream: BlobStream {
    /// sha256 and count of the bytes yielded so far.
    var digestOfBytesRead: (digest: Digest, size: Int64) { get }
}

/// A content-store blob read through the store's verifying reader is a stream like any other:
/// whoever reads it to the end has checked it.
extension VerifyingBlobReader: SelfHashingStream {
    public var digestOfBytesRead: (digest: Digest, size: Int64) { (bytesRead.digest, bytesRead.size) }
}

extension BlobStream {
    /// Reads to the end, handing each chunk to `body`; returns the digest and size of what was
    /// read (the stream's own, when it hashes what it yields: the bytes are hashed once).
    @discardableResult
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> (digest: Digest, size: Int64) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let selfHashing = self as? any SelfHashingStream
        var hasher = DigestHasher()
        while true {
            let count = try read(into: buffer)
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            if selfHashing == nil { hasher.update(chunk) }
            try body(chunk)
        }
        if let selfHashing { return selfHashing.digestOfBytesRead }
        return (hasher.finalize(), hasher.byteCount)
    }

    /// Reads to the end and returns the digest and size of the bytes.
    public func measure() throws -> (digest: Digest, size: Int64) {
        try forEachChunk { _ in }
    }
}
