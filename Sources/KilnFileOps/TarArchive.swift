import CArchive
import Foundation
import KilnArchive

#if canImport(Glibc)
import Glibc
#endif

/// Local tar archives for `ADD` and for a context sent on stdin: recognising one (plain,
/// gzip, bzip2, xz, zstd, lzma) and extracting it with every path kept inside the target.
///
/// Extraction goes through ``KilnArchive/LayerApplier``, whose resolver confines absolute
/// paths, `..` and symlinks to the target directory; codecs it does not read itself (bzip2,
/// xz, lzma) are first decompressed by libarchive into a plain tar in scratch space.
enum TarArchive {
    /// libarchive's filter codes the layer reader understands directly.
    private static let directFilters: Set<Int32> = [ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD]

    /// The compression filter of the tar archive at `path`, or `nil` when the file is not a
    /// tar archive (Docker then copies it as a file).
    static func filter(ofArchiveAt path: String) -> Int32? {
        guard let archive = archive_read_new() else { return nil }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        archive_read_support_format_gnutar(archive)
        guard archive_read_open_filename(archive, path, 64 << 10) == ARCHIVE_OK else { return nil }
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { return nil }
        return archive_filter_code(archive, 0)
    }

    /// The member paths of the tar archive at `path`, as written in it.
    static func memberPaths(ofArchiveAt path: String) throws -> [String] {
        guard let archive = archive_read_new() else { throw FileOperationError("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        archive_read_support_format_gnutar(archive)
        guard archive_read_open_filename(archive, path, 64 << 10) == ARCHIVE_OK else {
            throw FileOperationError("reading \(path): \(String(cString: archive_error_string(archive)))")
        }
        var paths: [String] = []
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { return paths }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw FileOperationError("reading \(path): \(String(cString: archive_error_string(archive)))")
            }
            if let name = archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry) {
                paths.append(String(cString: name))
            }
        }
    }

    /// Extracts the tar archive at `path` into the directory `target`; `scratch` holds a
    /// decompressed copy when the codec needs one (removed before returning).
    static func extract(_ path: String, into target: URL, scratch: URL, gate: WriteGate = .unbounded) throws {
        guard let filter = filter(ofArchiveAt: path) else {
            throw FileOperationError("\(path) is not a tar archive")
        }
        var source = URL(fileURLWithPath: path)
        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        if !directFilters.contains(filter) {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let plain = scratch.appendingPathComponent("archive-\(UUID().uuidString).tar")
            temporary = plain
            try decompress(path, to: plain.path, gate: gate)
            source = plain
        }
        do {
            _ = try LayerApplier().apply(layer: source, to: target, gate: gate)
        } catch {
            throw FileOperationError("extracting \(URL(fileURLWithPath: path).lastPathComponent): \(error)")
        }
    }

    /// Writes the uncompressed bytes of `path` to `destination`.
    private static func decompress(_ path: String, to destination: String, gate: WriteGate) throws {
        guard let archive = archive_read_new() else { throw FileOperationError("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        var entry: OpaquePointer?
        guard archive_read_open_filename(archive, path, 64 << 10) == ARCHIVE_OK,
              archive_read_next_header(archive, &entry) == ARCHIVE_OK else {
            throw FileOperationError("decompressing \(path): \(String(cString: archive_error_string(archive)))")
        }
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileOperationError.system("open", destination, errno) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
            if count == 0 { break }
            guard count > 0 else {
                throw FileOperationError("decompressing \(path): \(String(cString: archive_error_string(archive)))")
            }
            try gate.passBytes(count)
            try FileWriting.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[..<count]), path: destination)
        }
    }
}
