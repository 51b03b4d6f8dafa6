#if canImport(Glibc)
import Glibc
#endif

/// Turns changes into tar entries: reads each entry's metadata and content from the source
/// tree, remembers inodes already written so later links to them become hardlink entries.
final class LayerSource {
    private let tree: SourceTree
    private let sourceDateEpoch: Int64?
    /// Passed before every entry and every chunk of file data: cancellation and the disk reserve.
    private let gate: WriteGate
    /// First archive path written for each multiply-linked regular file, by (device, inode).
    private var firstPathOfInode: [InodeKey: String] = [:]
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    private struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(tree: SourceTree, sourceDateEpoch: Int64?, gate: WriteGate) {
        self.tree = tree
        self.sourceDateEpoch = sourceDateEpoch
        self.gate = gate
    }

    deinit { buffer.deallocate() }

    /// Writes the entry for `change`; false when there is nothing a tar can hold (a socket).
    func write(_ change: LayerChange, to tar: TarEntryWriter) throws -> Bool {
        try gate.passEntry()
        let markerTime = sourceDateEpoch ?? 0
        switch change {
        case .delete(let path):
            try Self.validate(path)
            try tar.writeHeader(.whiteout(path: Whiteout.deletionMarker(for: path), modificationTime: markerTime))
            return true
        case .opaque(let directory):
            try Self.validate(directory)
            try tar.writeHeader(.whiteout(path: Whiteout.opaqueMarker(in: directory), modificationTime: markerTime))
            return true
        case .write(let path):
            try Self.validate(path)
            return try writeEntry(path, to: tar)
        }
    }

    private static func validate(_ path: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"),
              !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else { throw ArchiveError.invalidSource(path: path, reason: "not a clean relative path") }
    }

    private func writeEntry(_ path: String, to tar: TarEntryWriter) throws -> Bool {
        let (parentFD, name, info) = try tree.status(of: path)
        var mtime = Int64(info.st_mtim.tv_sec)
        if let sourceDateEpoch, mtime > sourceDateEpoch { mtime = sourceDateEpoch }
        let kind: TarHeader.Kind
        var isLinkToEarlierEntry = false
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let key = InodeKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            if info.st_nlink > 1, let first = firstPathOfInode[key] {
                kind = .hardlink(target: first)
                isLinkToEarlierEntry = true
            } else {
                if info.st_nlink > 1 { firstPathOfInode[key] = path }
                kind = .regular(size: Int64(info.st_size))
            }
        case S_IFDIR:
            kind = .directory
        case S_IFLNK:
            guard let target = DirectoryReading.symlinkTarget(parentFD, name) else {
                throw ArchiveError.lastSystemError("readlink", path)
            }
            kind = .symlink(target: target)
        case S_IFIFO:
            kind = .fifo
        case S_IFCHR:
            kind = .characterDevice(device: UInt64(info.st_rdev))
        case S_IFBLK:
            kind = .blockDevice(device: UInt64(info.st_rdev))
        default:
            // Sockets (a gpg-agent's, say) are left behind by RUN steps; tar cannot hold them and
            // Docker and BuildKit skip them too.
            return false
        }
        var header = TarHeader(path: path, kind: kind, permissions: UInt32(info.st_mode) & 0o7777,
                               uid: info.st_uid, gid: info.st_gid, modificationTime: mtime)
        if !isLinkToEarlierEntry {
            header.xattrs = try Xattrs.recorded(parentFD, name, displayPath: path)
        }
        guard case .regular(let size) = kind else {
            try tar.writeHeader(header)
            return true
        }
        try writeRegularFile(header, size: size, parentFD: parentFD, name: name, to: tar)
        return true
    }

    /// Writes the header and exactly `size` bytes: a file that shrank while being read is
    /// padded with zeros by libarchive, one that grew is cut at the size in the header.
    private func writeRegularFile(_ header: TarHeader, size: Int64, parentFD: Int32, name: String,
                                  to tar: TarEntryWriter) throws {
        let fd = openat(parentFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", header.path) }
        defer { close(fd) }
        try tar.writeHeader(header)
        var remaining = size
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let n = try FileDescriptorIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]),
                                              path: header.path)
            if n == 0 { break }
            try gate.passBytes(n)
            try tar.writeData(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            remaining -= Int64(n)
        }
    }
}
