import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// Writes tar entries through libarchive's PAX-restricted format (plain ustar headers unless
/// an entry needs PAX: long names or link targets, large ids or sizes, xattrs, non-ASCII),
/// streaming every block libarchive produces into a sink instead of a file.
final class TarEntryWriter {
    private let archive: OpaquePointer
    fileprivate let sink: any ByteSink
    fileprivate var callbackError: (any Error)?
    private let entry: OpaquePointer
    /// Whether ``finish()`` ran: the archive is then closed, not abandoned.
    private var finished = false

    init(sink: any ByteSink) throws {
        guard let archive = archive_write_new(), let entry = archive_entry_new() else {
            throw ArchiveError.libarchive("cannot allocate a tar writer")
        }
        self.archive = archive
        self.entry = entry
        self.sink = sink
        try check(archive_write_set_format_pax_restricted(archive))
        // SCHILY.xattr.* is the form GNU tar, Go's archive/tar and containerd read; libarchive's
        // own duplicate LIBARCHIVE.xattr.* records would only add bytes.
        try check(archive_write_set_options(archive, "xattrheader=SCHILY"))
        let client = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_write_open2(archive, client, nil, { _, client, buffer, length in
            let writer = Unmanaged<TarEntryWriter>.fromOpaque(client!).takeUnretainedValue()
            do {
                try writer.sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
                return la_ssize_t(length)
            } catch {
                writer.callbackError = error
                return -1
            }
        }, nil, nil))
    }

    deinit {
        archive_entry_free(entry)
        // An archive never finished was abandoned (an error, a cancellation): without this,
        // freeing it closes it, and libarchive pads the open entry to its declared size,
        // pushing up to that many zeros through the compressor before the writer can stop.
        if !finished { archive_write_fail(archive) }
        archive_write_free(archive)
    }

    /// Writes `header`; for a regular file, its `size` bytes must follow through `writeData`.
    func writeHeader(_ header: TarHeader) throws {
        archive_entry_clear(entry)
        var path = header.path
        if case .directory = header.kind { path += "/" }
        archive_entry_set_pathname_utf8(entry, path)
        archive_entry_set_uid(entry, la_int64_t(header.uid))
        archive_entry_set_gid(entry, la_int64_t(header.gid))
        archive_entry_set_mtime(entry, time_t(header.modificationTime), 0)
        let permissions = mode_t(header.permissions & 0o7777)
        switch header.kind {
        case .regular(let size):
            archive_entry_set_mode(entry, S_IFREG | permissions)
            archive_entry_set_size(entry, la_int64_t(size))
        case .directory:
            archive_entry_set_mode(entry, S_IFDIR | permissions)
        case .symlink(let target):
            archive_entry_set_mode(entry, S_IFLNK | permissions)
            archive_entry_set_symlink_utf8(entry, target)
        case .hardlink(let target):
            archive_entry_set_mode(entry, S_IFREG | permissions)
            archive_entry_set_hardlink_utf8(entry, target)
        case .fifo:
            archive_entry_set_mode(entry, S_IFIFO | permissions)
        case .characterDevice(let device):
            archive_entry_set_mode(entry, S_IFCHR | permissions)
            archive_entry_set_rdev(entry, dev_t(device))
        case .blockDevice(let device):
            archive_entry_set_mode(entry, S_IFBLK | permissions)
            archive_entry_set_rdev(entry, dev_t(device))
        }
        for xattr in header.xattrs {
            xattr.value.withUnsafeBytes {
                archive_entry_xattr_add_entry(entry, xattr.name, $0.baseAddress, $0.count)
            }
        }
        try check(archive_write_header(archive, entry), path: header.path)
    }

    /// Writes file content for the entry whose header was written last.
    func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { try check(Int32(n)) }
            offset += n
        }
    }

    /// Writes the end-of-archive blocks and flushes everything to the sink.
    func finish() throws {
        finished = true
        try check(archive_write_close(archive))
    }

    private func check(_ status: Int32, path: String? = nil) throws {
        if let callbackError { throw callbackError }
        guard status < ARCHIVE_WARN else { return }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "error \(status)"
        throw ArchiveError.libarchive(path.map { "\($0): \(message)" } ?? message)
    }
}
