import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// Reads tar entries with libarchive from a decompressed layer stream. Only tar formats are
/// enabled, and no libarchive filters: decompression (and hashing) happens in
/// `LayerDecompressor`, on a thread of its own (`LayerReadAhead`), whose blocks feed libarchive
/// through a read callback.
final class TarEntryReader {
    private let archive: OpaquePointer
    fileprivate let source: LayerReadAhead
    fileprivate var callbackError: (any Error)?

    init(source: LayerReadAhead) throws {
        guard let archive = archive_read_new() else { throw ArchiveError.libarchive("cannot allocate a tar reader") }
        self.archive = archive
        self.source = source
        archive_read_support_format_tar(archive)
        archive_read_support_format_gnutar(archive)
        let client = Unmanaged.passUnretained(self).toOpaque()
        let status = archive_read_open(archive, client, nil, { _, client, block in
            let reader = Unmanaged<TarEntryReader>.fromOpaque(client!).takeUnretainedValue()
            do {
                let next = try reader.source.nextBlock()
                block?.pointee = next.baseAddress.map { UnsafeRawPointer($0) }
                return la_ssize_t(next.count)
            } catch {
                reader.callbackError = error
                return -1
            }
        }, nil)
        try check(status)
    }

    deinit {
        archive_read_free(archive)
    }

    /// The next entry's header as stored (path not yet validated), or nil at the end.
    func next() throws -> TarHeader? {
        var entryPointer: OpaquePointer?
        let status = archive_read_next_header(archive, &entryPointer)
        if status == ARCHIVE_EOF { return nil }
        try check(status)
        guard let entry = entryPointer else { return nil }
        let path = Self.string(archive_entry_pathname_utf8(entry)) ?? Self.string(archive_entry_pathname(entry)) ?? ""
        let mode = UInt32(archive_entry_mode(entry))
        let kind: TarHeader.Kind
        if let link = Self.string(archive_entry_hardlink_utf8(entry)) ?? Self.string(archive_entry_hardlink(entry)) {
            kind = .hardlink(target: link)
        } else {
            switch mode_t(mode) & S_IFMT {
            case S_IFDIR: kind = .directory
            case S_IFLNK:
                kind = .symlink(target: Self.string(archive_entry_symlink_utf8(entry))
                                ?? Self.string(archive_entry_symlink(entry)) ?? "")
            case S_IFIFO: kind = .fifo
            case S_IFCHR: kind = .characterDevice(device: UInt64(archive_entry_rdev(entry)))
            case S_IFBLK: kind = .blockDevice(device: UInt64(archive_entry_rdev(entry)))
            case S_IFREG: kind = .regular(size: Int64(archive_entry_size(entry)))
            default:
                throw ArchiveError.refused(entry: path, reason: "unsupported entry type (mode \(String(mode, radix: 8)))")
            }
        }
        var header = TarHeader(path: path, kind: kind, permissions: mode & 0o7777,
                               uid: UInt32(truncatingIfNeeded: archive_entry_uid(entry)),
                               gid: UInt32(truncatingIfNeeded: archive_entry_gid(entry)),
                               modificationTime: Int64(archive_entry_mtime(entry)))
        archive_entry_xattr_reset(entry)
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            header.xattrs.append(.init(name: String(cString: name), value: bytes))
        }
        return header
    }

    /// Streams the current entry's data as (offset, bytes) blocks; sparse holes are skipped.
    func readData(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(archive, &block, &size, &offset)
            if status == ARCHIVE_EOF { return }
            try check(status)
            if size > 0 { try body(Int64(offset), UnsafeRawBufferPointer(start: block, count: size)) }
        }
    }

    private func check(_ status: Int32) throws {
        if let callbackError { throw callbackError }
        guard status < ARCHIVE_WARN else { return }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "error \(status)"
        throw ArchiveError.libarchive(message)
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
