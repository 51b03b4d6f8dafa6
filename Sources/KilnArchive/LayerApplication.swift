#if canImport(Glibc)
import Glibc
#endif

/// The state of one layer being applied: paths this layer created (which an opaque marker
/// must keep) and directories whose mode and mtime are set last, once their children are in.
final class LayerApplication {
    private let root: ContainedRoot
    private let privileged: Bool
    /// Passed before every entry and every chunk of file data: cancellation and the disk reserve.
    private let gate: WriteGate
    private var written: Set<String> = []
    private var directories: [(components: [String], header: TarHeader)] = []
    /// The parent directory of the last entry, kept open because sorted layers put siblings
    /// together. Dropped whenever an entry adds or removes a directory or symlink, since that
    /// could change where the same components resolve.
    private var cachedParent: (components: [String], fd: Int32)?

    init(root: ContainedRoot, privileged: Bool, gate: WriteGate) {
        self.root = root
        self.privileged = privileged
        self.gate = gate
    }

    deinit { forgetCachedParent() }

    private func forgetCachedParent() {
        if let cachedParent { close(cachedParent.fd) }
        cachedParent = nil
    }

    /// The open parent directory for an entry; owned by the cache, not the caller.
    private func parentDirectory(_ components: [String], entry: String) throws -> Int32 {
        if let cachedParent, cachedParent.components == components { return cachedParent.fd }
        let fd = try resolve(components, create: true, entry: entry)
        forgetCachedParent()
        cachedParent = (components, fd)
        return fd
    }

    /// Applies one entry; for a regular file, its data is read from `reader`.
    func apply(_ header: TarHeader, reader: TarEntryReader) throws {
        try gate.passEntry()
        let entry = header.path
        let components = try Self.clean(entry, entry: entry)
        guard let name = components.last else { return }  // the root itself: left as the caller made it
        let parent = Array(components.dropLast())
        if name.hasPrefix(Whiteout.prefix) { forgetCachedParent() }
        if name == Whiteout.opaqueMarker {
            try clearLowerContent(parent, entry: entry)
        } else if name.hasPrefix(Whiteout.prefix) {
            let victim = String(name.dropFirst(Whiteout.prefix.count))
            guard !victim.isEmpty, victim != ".", victim != ".." else {
                throw ArchiveError.refused(entry: entry, reason: "whiteout of \"\(victim)\" names no entry")
            }
            try delete(parent, victim, entry: entry)
        } else {
            let parentFD = try parentDirectory(parent, entry: entry)
            let changedDirectories = try place(header, parentFD: parentFD, name: name, components: components, reader: reader)
            if changedDirectories { forgetCachedParent() }
            written.insert(components.joined(separator: "/"))
        }
    }

    /// Sets directories' modes and mtimes, deepest first, after everything inside them exists
    /// (creating a child changes a directory's mtime; a read-only mode would block children).
    func finishDirectories() throws {
        for (components, header) in directories.reversed() {
            guard let parentFD = try? root.openDirectory(Array(components.dropLast()), create: false) else { continue }
            defer { close(parentFD) }
            let name = components.last!
            var info = stat()
            guard fstatat(parentFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            try setModeAndTime(header, parentFD: parentFD, name: name, isSymlink: false)
        }
    }

    /// Splits an archive path into components, refusing absolute paths and `..`.
    static func clean(_ path: String, entry: String) throws -> [String] {
        if path.hasPrefix("/") {
            throw ArchiveError.refused(entry: entry, reason: "absolute path")
        }
        let components = path.split(separator: "/").map(String.init).filter { $0 != "." }
        if components.contains("..") {
            throw ArchiveError.refused(entry: entry, reason: "path contains a \"..\" component")
        }
        return components
    }

    private func resolve(_ components: [String], create: Bool, entry: String) throws -> Int32 {
        do {
            return try root.openDirectory(components, create: create) { written.insert($0) }
        } catch {
            throw Self.describe(error, entry: entry)
        }
    }

    private static func describe(_ failure: ContainedRoot.Failure, entry: String) -> ArchiveError {
        switch failure {
        case .missing(let component):
            return .refused(entry: entry, reason: "\"\(component)\" does not exist")
        case .notADirectory(let component):
            return .refused(entry: entry, reason: "parent \"\(component)\" is not a directory")
        case .symlinkLoop:
            return .refused(entry: entry, reason: "too many levels of symbolic links")
        case .system(let component, let code):
            return .system(operation: "resolve \"\(component)\" for", path: entry, errno: code)
        }
    }

    private func delete(_ parent: [String], _ victim: String, entry: String) throws {
        let parentFD: Int32
        do {
            parentFD = try root.openDirectory(parent, create: false)
        } catch .missing {
            return  // nothing below to hide
        } catch {
            throw Self.describe(error, entry: entry)
        }
        defer { close(parentFD) }
        do { try ContainedRoot.removeTree(parentFD, victim) } catch { throw Self.describe(error, entry: entry) }
    }

    /// Removes everything under `directory` that this layer did not write.
    private func clearLowerContent(_ directory: [String], entry: String) throws {
        let fd = try resolve(directory, create: true, entry: entry)
        defer { close(fd) }
        do { try clearLowerContent(fd, prefix: directory.joined(separator: "/")) } catch {
            throw Self.describe(error, entry: entry)
        }
    }

    private func clearLowerContent(_ fd: Int32, prefix: String) throws(ContainedRoot.Failure) {
        guard let entries = DirectoryReading.entries(of: fd) else { throw .system(prefix, errno) }
        for name in entries.map(\.name) {
            let path = ArchivePath.join(prefix, name)
            guard written.contains(path) else {
                try ContainedRoot.removeTree(fd, name)
                continue
            }
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { continue }  // a file or symlink of this layer: kept as is
            defer { close(child) }
            try clearLowerContent(child, prefix: path)
        }
    }

    /// Creates the entry; returns whether a directory or symlink was added or removed.
    private func place(_ header: TarHeader, parentFD: Int32, name: String, components: [String],
                       reader: TarEntryReader) throws -> Bool {
        let entry = header.path
        var existing = stat()
        let exists = fstatat(parentFD, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
        let existingIsDirectory = exists && existing.st_mode & S_IFMT == S_IFDIR
        if case .hardlink(let target) = header.kind,
           (try? Self.clean(target, entry: entry)) == components {
            return false  // a link to itself: nothing to do
        }
        let existingIsStructural = existingIsDirectory || (exists && existing.st_mode & S_IFMT == S_IFLNK)
        if exists && !(existingIsDirectory && header.kind == .directory) {
            do { try ContainedRoot.removeTree(parentFD, name) } catch { throw Self.describe(error, entry: entry) }
        }
        let permissions = mode_t(header.permissions & 0o7777)
        switch header.kind {
        case .directory:
            if !existingIsDirectory {
                guard mkdirat(parentFD, name, 0o700) == 0 else { throw ArchiveError.lastSystemError("mkdir", entry) }
            }
            try setOwnerAndXattrs(header, parentFD: parentFD, name: name)
            directories.append((components, header))
            return !existingIsDirectory
        case .regular(let size):
            // Metadata is set through the open file: no path lookups.
            try writeFile(header, size: size, parentFD: parentFD, name: name, reader: reader)
            return existingIsStructural
        case .symlink(let target):
            guard symlinkat(target, parentFD, name) == 0 else { throw ArchiveError.lastSystemError("symlink", entry) }
        case .hardlink(let target):
            try link(to: target, parentFD: parentFD, name: name, entry: entry)
            return existingIsStructural  // the inode's metadata came with its first entry
        case .fifo:
            guard mknodat(parentFD, name, S_IFIFO | permissions, 0) == 0 else { throw ArchiveError.lastSystemError("mkfifo", entry) }
        case .characterDevice(let device), .blockDevice(let device):
            guard privileged else {
                throw ArchiveError.refused(entry: entry, reason: "device nodes can only be created when running as root")
            }
            // Root of a user namespace may not make device nodes: the tree goes without it (a
            // RUN gets its /dev from the runtime); the layer itself stays as it is.
            guard UserNamespace.canMakeDevices else { return existingIsStructural }
            let type = header.kind == .characterDevice(device: device) ? S_IFCHR : S_IFBLK
            guard mknodat(parentFD, name, type | permissions, dev_t(device)) == 0 else {
                throw ArchiveError.lastSystemError("mknod", entry)
            }
        }
        let isSymlink = if case .symlink = header.kind { true } else { false }
        try setOwnerAndXattrs(header, parentFD: parentFD, name: name)
        try setModeAndTime(header, parentFD: parentFD, name: name, isSymlink: isSymlink)
        return isSymlink || existingIsStructural
    }

    /// Creates the file exclusively (an existing name was removed first, so nothing is ever
    /// written through a symlink or into another hardlinked inode), copies its data and sets
    /// its owner, attributes, mode and time through the open file.
    private func writeFile(_ header: TarHeader, size: Int64, parentFD: Int32, name: String,
                           reader: TarEntryReader) throws {
        let entry = header.path
        let fd = openat(parentFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("create", entry) }
        defer { close(fd) }
        var end: Int64 = 0
        try reader.readData { offset, bytes in
            end = max(end, offset + Int64(bytes.count))
            try gate.passBytes(bytes.count)
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ArchiveError.lastSystemError("write", entry)
                }
                done += n
            }
        }
        // Sparse entries may end in a hole that no data block covers.
        if end < size {
            guard ftruncate(fd, off_t(size)) == 0 else { throw ArchiveError.lastSystemError("truncate", entry) }
        }
        try setOwnerAndXattrs(header, parentFD: parentFD, name: name, openFile: fd)
        try setModeAndTime(header, parentFD: parentFD, name: name, isSymlink: false, openFile: fd)
    }

    private func link(to target: String, parentFD: Int32, name: String, entry: String) throws {
        let targetComponents: [String]
        do {
            targetComponents = try Self.clean(target, entry: entry)
        } catch {
            throw ArchiveError.refused(entry: entry, reason: "hardlink target \"\(target)\" is outside the layer root")
        }
        guard let targetName = targetComponents.last else {
            throw ArchiveError.refused(entry: entry, reason: "hardlink to the root directory")
        }
        let targetParent: Int32
        do {
            targetParent = try root.openDirectory(Array(targetComponents.dropLast()), create: false)
        } catch {
            throw ArchiveError.refused(entry: entry, reason: "hardlink target \"\(target)\" does not exist inside the root")
        }
        defer { close(targetParent) }
        // Flags 0: a symlink target is linked itself, never followed.
        guard linkat(targetParent, targetName, parentFD, name, 0) == 0 else {
            let code = errno
            if code == ENOENT {
                throw ArchiveError.refused(entry: entry, reason: "hardlink target \"\(target)\" does not exist inside the root")
            }
            if code == EPERM {
                throw ArchiveError.refused(entry: entry, reason: "hardlink target \"\(target)\" is a directory")
            }
            throw ArchiveError.system(operation: "link", path: entry, errno: code)
        }
    }

    /// Owner first: chown clears setuid/setgid bits and file capabilities, so mode and xattrs follow it.
    /// `openFile`, the entry's own descriptor when the caller holds one, spares the path lookup.
    private func setOwnerAndXattrs(_ header: TarHeader, parentFD: Int32, name: String, openFile: Int32? = nil) throws {
        if privileged {
            let status = openFile.map { fchown($0, header.uid, header.gid) }
                ?? fchownat(parentFD, name, header.uid, header.gid, AT_SYMLINK_NOFOLLOW)
            guard status == 0 else { throw ArchiveError.lastSystemError("chown", header.path) }
        }
        for xattr in header.xattrs {
            try Xattrs.set(xattr, on: parentFD, name, privileged: privileged, displayPath: header.path)
        }
    }

    private func setModeAndTime(_ header: TarHeader, parentFD: Int32, name: String, isSymlink: Bool,
                                openFile: Int32? = nil) throws {
        let mode = mode_t(header.permissions & 0o7777)
        if !isSymlink {
            // The entry was just created (or checked) as a non-symlink, so following is harmless.
            guard (openFile.map { fchmod($0, mode) } ?? fchmodat(parentFD, name, mode, 0)) == 0 else {
                throw ArchiveError.lastSystemError("chmod", header.path)
            }
        }
        let time = timespec(tv_sec: time_t(header.modificationTime), tv_nsec: 0)
        let times = [time, time]
        guard (openFile.map { futimens($0, times) } ?? utimensat(parentFD, name, times, AT_SYMLINK_NOFOLLOW)) == 0 else {
            throw ArchiveError.lastSystemError("utimensat", header.path)
        }
    }
}
