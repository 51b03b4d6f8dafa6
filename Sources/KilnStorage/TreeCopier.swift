import Foundation
import Glibc
import KilnArchive

/// Copies a directory tree exactly: content, hardlinks, symlinks, fifos and devices, owners,
/// modes, xattrs and mtimes. Used for the copy-mode rootfs and to build a chain directory on
/// top of its parent's.
public enum TreeCopier {
    /// Without root, owners, device nodes and `trusted.*`/`security.*` xattrs cannot be
    /// recreated; a rootless copy keeps everything else rather than failing.
    static let privileged = geteuid() == 0

    /// Copies the tree at `source` into `destination`, which must not exist yet, on a thread of
    /// its own (a copy can take seconds), passing `gate` before every entry and its content
    /// (the disk reserve; the task's cancellation closes it too).
    static func copy(from source: URL, to destination: URL, gate: WriteGate = .unbounded) async throws {
        try await onOwnThread(closing: gate) { try copySynchronously(from: source, to: destination, gate: gate) }
    }

    /// Copies the entry at `source` — a directory with everything below it, or one file,
    /// symlink, socket or device — to `destination`, which must not exist yet, exactly (owner,
    /// mode, xattrs, mtime): for what chroot isolation places into a step's rootfs.
    public static func copyEntry(from source: URL, to destination: URL, gate: WriteGate = .unbounded) async throws {
        guard let metadata = try TreeWalker.readMetadata(absolutePath: source.path) else {
            throw StorageError.system(operation: "copy", path: source.path, errno: ENOENT)
        }
        if metadata.kind == .directory { return try await copy(from: source, to: destination, gate: gate) }
        let from = source.path
        let to = destination.path
        switch metadata.kind {
        case .regular:
            try gate.passBytes(Int(metadata.size))
            try copyContent(from: from, to: to)
        case .symlink:
            try posix("symlink", to) { symlink(metadata.symlinkTarget ?? "", to) }
        default:
            try posix("mknod", to) { mknod(to, metadata.kind.modeBits | 0o600, dev_t(metadata.rdev)) }
        }
        try applyMetadata(metadata, to: to)
    }

    private static func copySynchronously(from source: URL, to destination: URL, gate: WriteGate) throws {
        let sourceRoot = source.path
        let destinationRoot = destination.path
        guard let rootMetadata = try TreeWalker.readMetadata(absolutePath: sourceRoot), rootMetadata.kind == .directory else {
            throw StorageError.system(operation: "copy", path: sourceRoot, errno: ENOTDIR)
        }
        let snapshot = try Snapshot.captureSequentially(source)
        let paths = snapshot.entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        try posix("mkdir", destinationRoot) { mkdir(destinationRoot, 0o700) }
        var firstLink: [HardlinkKey: String] = [:]
        for path in paths {
            let metadata = snapshot.entries[path]!
            try gate.passEntry()
            let from = "\(sourceRoot)/\(path)"
            let to = "\(destinationRoot)/\(path)"
            switch metadata.kind {
            case .directory:
                // Owner-only until the children are in; the real mode is set afterwards.
                try posix("mkdir", to) { mkdir(to, 0o700) }
                continue
            case .regular:
                if metadata.linkCount > 1 {
                    let key = HardlinkKey(metadata)
                    if let first = firstLink[key] {
                        try posix("link", to) { link(first, to) }
                        continue
                    }
                    firstLink[key] = to
                }
                try gate.passBytes(Int(metadata.size))
                try copyContent(from: from, to: to)
            case .symlink:
                try posix("symlink", to) { symlink(metadata.symlinkTarget ?? "", to) }
            case .fifo, .characterDevice, .blockDevice, .socket:
                if mknod(to, metadata.kind.modeBits | 0o600, dev_t(metadata.rdev)) != 0 {
                    if errno == EPERM && !UserNamespace.canMakeDevices { continue }
                    throw StorageError.system(operation: "mknod", path: to, errno: errno)
                }
            }
            try applyMetadata(metadata, to: to)
        }
        // Children first, so that setting a directory's mtime is the last thing that touches it.
        for path in paths.reversed() where snapshot.entries[path]!.kind == .directory {
            try applyMetadata(snapshot.entries[path]!, to: "\(destinationRoot)/\(path)")
        }
        try applyMetadata(rootMetadata, to: destinationRoot)
    }

    /// Copies file content, in the kernel where it can (`copy_file_range` shares extents on
    /// filesystems that support reflinks).
    static func copyContent(from source: String, to destination: String) throws(StorageError) {
        let input = try posix("open", source) { open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        defer { close(input) }
        let output = try posix("open", destination) { open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        defer { close(output) }
        try copyContent(from: input, to: output, source: source, destination: destination)
    }

    /// Copies what is left of `input` to `output` (open descriptors; `source` and
    /// `destination` name them in errors).
    static func copyContent(from input: Int32, to output: Int32, source: String, destination: String) throws(StorageError) {
        while true {
            let count = LinuxCalls.copyFileRange(input, output, 1 << 30)
            if count == 0 { return }
            if count > 0 { continue }
            if errno == EINTR { continue }
            if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP { break }
            throw StorageError.system(operation: "copy_file_range", path: destination, errno: errno)
        }
        // Fallback: plain read/write from wherever copy_file_range stopped.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try posix("read", source) { read(input, buffer.baseAddress, buffer.count) }
            if count == 0 { return }
            var offset = 0
            while offset < count {
                offset += try posix("write", destination) { write(output, buffer.baseAddress! + offset, count - offset) }
            }
        }
    }

    /// Owner, then mode (chown clears setuid bits), then xattrs (chown clears file
    /// capabilities), then mtime.
    static func applyMetadata(_ metadata: FileMetadata, to path: String) throws(StorageError) {
        if lchown(path, metadata.uid, metadata.gid) != 0 && !(errno == EPERM && !privileged) {
            throw StorageError.system(operation: "lchown", path: path, errno: errno)
        }
        if metadata.kind != .symlink {
            try posix("chmod", path) { chmod(path, mode_t(metadata.permissions)) }
        }
        for (name, value) in metadata.xattrs.sorted(by: { $0.key < $1.key }) {
            let result = value.withUnsafeBytes { LinuxCalls.lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
            if result != 0 && !(errno == EPERM && !privileged) {
                throw StorageError.system(operation: "lsetxattr \(name)", path: path, errno: errno)
            }
        }
        var times = [
            timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit),
            timespec(tv_sec: Int(metadata.mtime.seconds), tv_nsec: Int(metadata.mtime.nanoseconds)),
        ]
        try posix("utimensat", path) { utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) }
    }
}
