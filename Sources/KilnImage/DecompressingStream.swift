import CArchive
import KilnOCI

/// The uncompressed bytes of a gzip or zstd blob, decoded by libarchive's filters (its "raw"
/// format passes the decoded stream through untouched).
///
/// KilnArchive decodes layers too, but only inside `LayerApplier`; this stream is what
/// exporters need to turn a compressed layer back into the plain tar `docker save` writes.
final class DecompressingStream: BlobStream {
    /// What libarchive's read callback pulls from: the compressed stream and a buffer it owns.
    private final class Source {
        let stream: any BlobStream
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        var failure: (any Error)?

        init(_ stream: any BlobStream) { self.stream = stream }
        deinit { buffer.deallocate() }
    }

    private let archive: OpaquePointer
    private let source: Source
    private let name: String

    /// Starts decoding `compressed`; `name` identifies the blob in errors.
    init(_ compressed: any BlobStream, name: String) throws {
        guard let archive = archive_read_new() else { throw ImageError.codec("archive_read_new failed") }
        self.archive = archive
        self.source = Source(compressed)
        self.name = name
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        let context = Unmanaged.passUnretained(source).toOpaque()
        let status = archive_read_open(archive, context, nil, { _, context, out in
            let source = Unmanaged<Source>.fromOpaque(context!).takeUnretainedValue()
            do {
                let count = try source.stream.read(into: source.buffer)
                out?.pointee = UnsafeRawPointer(source.buffer.baseAddress)
                return count
            } catch {
                source.failure = error
                return -1
            }
        }, nil)
        var entry: OpaquePointer?
        guard status == ARCHIVE_OK, archive_read_next_header(archive, &entry) == ARCHIVE_OK else {
            throw failure()
        }
    }

    deinit { archive_read_free(archive) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard count >= 0 else { throw failure() }
        return count
    }

    private func failure() -> any Error {
        if let error = source.failure { return error }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return ImageError.codec("\(name): \(message)")
    }
}
