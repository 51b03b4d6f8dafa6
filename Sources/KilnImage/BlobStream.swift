import KilnOCI

/// Bytes read front to back, a buffer at a time: a blob on disk, a region of a tar file,
/// or a decompressed layer. Streams are used by one thread at a time and never hold a whole
/// blob in memory.
public protocol BlobStream: AnyObject {
    /// Fills the start of `buffer` with the next bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension BlobStream {
    /// Reads to the end, handing each chunk to `body`; returns the digest and size of what was read.
    @discardableResult
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> (digest: Digest, size: Int64) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = DigestHasher()
        while true {
            let count = try read(into: buffer)
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            hasher.update(chunk)
            try body(chunk)
        }
        return (hasher.finalize(), hasher.byteCount)
    }

    /// Reads to the end and returns the digest and size of the bytes.
    public func measure() throws -> (digest: Digest, size: Int64) {
        try forEachChunk { _ in }
    }
}
