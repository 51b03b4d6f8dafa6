import Foundation
import KilnOCI

/// Turns a finished layer blob into the form an output asks for: another compression, and
/// modification times clamped to `SOURCE_DATE_EPOCH`. A content-store blob is read through the
/// store's verifying reader (which checks it as it streams); a blob file is checked against its
/// digest here.
///
/// The same source and settings always give the same bytes, so a layer a cache holds in one
/// form yields, on any machine, what a fresh build with those settings yields.
public struct LayerRewriter: Sendable {
    /// The compression written.
    public var compression: LayerCompression
    /// Modification times above this are lowered to it; nil leaves them.
    public var clampTime: Int64?

    /// A rewriter to `compression`, clamping to `clampTime`.
    public init(compression: LayerCompression, clampTime: Int64?) {
        self.compression = compression
        self.clampTime = clampTime
    }

    /// Rewrites the blob at `source` (whose digest must be `sourceDigest`) into `output`,
    /// passing `gate` before every chunk (it stops the rewrite when it closes).
    public func rewrite(_ source: URL, sourceDigest: Digest, to output: URL,
                        gate: WriteGate = .unbounded) throws -> LayerWriteResult {
        let fd = open(source.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", source.path) }
        defer { close(fd) }
        let (result, blobDigest) = try transform(FileDescriptorSource(fd: fd, path: source.path), name: source.path, to: output, gate: gate)
        guard blobDigest == sourceDigest else {
            throw ArchiveError.invalidSource(path: source.path,
                                             reason: "blob \(sourceDigest) is corrupt: its content hashes to \(blobDigest)")
        }
        return result
    }

    /// Rewrites the blob `source` yields (read to its end) into `output`; `name` names it in
    /// errors; `gate` is passed before every chunk.
    public func rewrite(_ source: any ByteSource, name: String, to output: URL, gate: WriteGate = .unbounded) throws -> LayerWriteResult {
        try transform(source, name: name, to: output, gate: gate).result
    }

    /// The rewrite, and the digest of the blob as read.
    private func transform(_ source: any ByteSource, name: String, to output: URL,
                           gate: WriteGate) throws -> (result: LayerWriteResult, blobDigest: Digest) {
        let decompressor = try LayerDecompressor(source: source, name: name)
        let file = try FileSink(creating: output.path)
        let compressed = HashingSink(downstream: file)
        let compressor = try compression.makeCompressor(downstream: compressed)
        let uncompressed = HashingSink(downstream: compressor)
        let first: any ByteSink = clampTime.map { TarTimestampClamp(epoch: $0, downstream: uncompressed) } ?? uncompressed
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try decompressor.read(into: buffer)
            if count == 0 { break }
            try gate.passBytes(count)
            try first.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        try first.finish()
        let result = LayerWriteResult(diffID: uncompressed.digest, digest: compressed.digest, size: compressed.byteCount,
                                      uncompressedSize: uncompressed.byteCount, mediaType: compression.mediaType, entryCount: 0)
        return (result, decompressor.blobDigest)
    }
}
