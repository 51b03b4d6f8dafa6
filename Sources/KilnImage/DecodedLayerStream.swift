import KilnArchive
import KilnOCI
import KilnStorage

/// The uncompressed bytes of a gzip or zstd layer blob, decoded by KilnArchive's
/// `LayerDecompressor` (the same decoder layer application uses), for exporters that need the
/// plain tar `docker save` writes. A decoding failure on a content-store blob is reported as
/// the blob's corruption when it is corrupt.
final class DecodedLayerStream: SelfHashingStream {
    private let blob: any BlobStream
    private let decompressor: LayerDecompressor

    /// Starts decoding `compressed`; `name` identifies the blob in errors.
    init(_ compressed: any BlobStream, name: String) throws {
        blob = compressed
        do {
            decompressor = try LayerDecompressor(source: compressed, name: name)
        } catch {
            throw (compressed as? VerifyingBlobReader)?.explain(error) ?? error
        }
    }

    /// The decoder hashes the tar it yields (the diffID once drained).
    var digestOfBytesRead: (digest: Digest, size: Int64) { (decompressor.diffID, decompressor.uncompressedSize) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try decompressor.read(into: buffer)
        } catch {
            throw (blob as? VerifyingBlobReader)?.explain(error) ?? error
        }
    }
}
