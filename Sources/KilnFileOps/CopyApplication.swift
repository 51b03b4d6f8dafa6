import Foundation
import KilnArchive
import KilnOCI

#if canImport(Glibc)
import Glibc
#endif

/// Writes one ``CopyPlan`` into a rootfs. Synchronous (blocking system calls); run on a
/// thread of its own.
struct CopyApplication {
    let plan: CopyPlan
    let root: String
    let uid: UInt32
    let gid: UInt32
    /// Passed before every entry and every chunk: a cancelled step stops within one of them.
    let gate: WriteGate
    /// Host path of each written entry by its planned path (hard links, children).
    private var written: [String: String] = [:]
    /// Directories whose mtime is set once everything below them is written.
    private var directoryTimes: [(path: String, time: timespec)] = []

    init(plan: CopyPlan, rootfs: String, gate: WriteGate) throws {
        self.plan = plan
        self.root = rootfs
        self.gate = gate
        if let chown = plan.chown {
            (uid, gid) = try ChownSpec.resolve(chown, in: URL(fileURLWithPath: rootfs))
        } else {
            (uid, gid) = (0, 0)
        }
    }

    /// Who owns the directories a copy creates on the way to its destination: the
    /// `--chown` owner when given (Docker, BuildKit and Buildah agree), else root.
    private var createdOwner: (uid: UInt32, gid: UInt32)? {
        plan.chown == nil ? nil : (uid, gid)
    }

    mutating func run() throws {
        let destination = try ContainedPath.resolve(plan.destination, in: root, followFinal: true)
        let destinationHost = ContainedPath.join(root, destination)
        var info = stat()
        let destinationExists = stat(destinationHost, &info) == 0
        let destinationIsDirectory = destinationExists && info.st_mode & S_IFMT == S_IFDIR
        // A single file goes *to* the destination unless it ends in `/` or is a directory.
        var singleFileName: String?
        let base: [String]
        if let fileName = plan.fileName, !plan.intoDirectory {
            if destinationIsDirectory {
                base = destination
                singleFileName = fileName
            } else {
                // The file replaces whatever is at the destination, a symlink included,
                // rather than writing through it.
                let unfollowed = try ContainedPath.resolve(plan.destination, in: root, followFinal: false)
                base = Array(unfollowed.dropLast())
                singleFileName = unfollowed.last ?? fileName
            }
        } else {
            base = destination
            if destinationExists && !destinationIsDirectory {
                throw FileOperationError("cannot copy to non-directory: \(plan.destination)")
            }
        }
        let baseHost = ContainedPath.join(root, try ContainedPath.resolve(base.joined(separator: "/"), in: root,
                                                                         followFinal: true, create: true, owner: createdOwner))
        written[""] = baseHost
        for entry in plan.entries {
            try gate.passEntry()
            var path = entry.path
            if path.isEmpty, let singleFileName, !Self.isDirectoryLike(entry) { path = singleFileName }
            if path.isEmpty {
                try applyToBase(entry, host: baseHost)
                continue
            }
            let components = path.split(separator: "/").map(String.init)
            let parent = try parentDirectory(of: components, base: base)
            let host = parent + "/" + components.last!
            try write(entry, at: host)
            written[path] = host
        }
        for directory in directoryTimes.reversed() {
            try setTime(directory.path, directory.time, follow: true)
        }
    }

    private static func isDirectoryLike(_ entry: CopyEntry) -> Bool {
        switch entry.content {
        case .directory, .archive: return true
        default: return false
        }
    }

    /// The host directory holding `components`' last element: written earlier in this copy,
    /// or resolved (and created) inside the rootfs.
    private mutating func parentDirectory(of components: [String], base: [String]) throws -> String {
        let parentPath = components.dropLast().joined(separator: "/")
        if let known = written[parentPath] { return known }
        let resolved = try ContainedPath.resolve((base + components.dropLast()).joined(separator: "/"), in: root,
                                                 followFinal: true, create: true, owner: createdOwner)
        let host = ContainedPath.join(root, resolved)
        written[parentPath] = host
        return host
    }

    /// The destination directory itself: an archive is extracted into it.
    private func applyToBase(_ entry: CopyEntry, host: String) throws {
        switch entry.content {
        case .directory:
            return
        case .archive(let source, _):
            try extract(source, into: host)
        default:
            throw FileOperationError("cannot copy a file onto the directory \(plan.destination)")
        }
    }

    private mutating func write(_ entry: CopyEntry, at host: String) throws {
        var info = stat()
        let exists = lstat(host, &info) == 0
        let existingType = info.st_mode & S_IFMT
        switch entry.content {
        case .directory:
            if exists && existingType == S_IFDIR { return }
            if exists && existingType == S_IFLNK {
                var target = stat()
                let resolved = try ContainedPath.resolve(String(host.dropFirst(root.count)), in: root, followFinal: true)
                let resolvedHost = ContainedPath.join(root, resolved)
                if stat(resolvedHost, &target) == 0, target.st_mode & S_IFMT == S_IFDIR {
                    written[entry.path] = resolvedHost
                    return
                }
            }
            if exists { try remove(host) }
            try ContainedPath.makeDirectory(host, mode: 0o700)
            try setOwnerAndMode(host, entry.mode)
            directoryTimes.append((host, entry.modificationTime))
            return
        case .archive(let source, _):
            if !(exists && existingType == S_IFDIR) {
                if exists { try remove(host) }
                try ContainedPath.makeDirectory(host, mode: 0o755)
            }
            try extract(source, into: host)
            return
        default:
            break
        }
        if exists {
            guard existingType != S_IFDIR else {
                throw FileOperationError("cannot overwrite directory \"\(host.dropFirst(root.count))\" with non-directory")
            }
            try remove(host)
        }
        switch entry.content {
        case .file(let source, let digest):
            try writeFile(at: host, mode: entry.mode) { fd in
                try Self.copyContents(of: source, to: fd, path: host, expecting: digest, entry: entry.path, gate: gate)
            }
            try setTime(host, entry.modificationTime, follow: false)
        case .inline(let data):
            try writeFile(at: host, mode: entry.mode) { fd in
                try data.withUnsafeBytes { bytes in try FileWriting.writeAll(fd, bytes, path: host) }
            }
            try setTime(host, entry.modificationTime, follow: false)
        case .symlink(let target):
            guard symlink(target, host) == 0 else { throw FileOperationError.system("symlink", host, errno) }
            guard lchown(host, uid, gid) == 0 else { throw FileOperationError.system("lchown", host, errno) }
            try setTime(host, entry.modificationTime, follow: false)
        case .hardlink(let first):
            guard let firstHost = written[first] else { throw FileOperationError("hard link target \(first) was not written") }
            guard link(firstHost, host) == 0 else { throw FileOperationError.system("link", host, errno) }
        case .directory, .archive:
            break
        }
    }

    /// Extracts an archive into the directory `host`. Members keep the archive's owners,
    /// as in Docker, unless `--chown` is given, which BuildKit applies to them too.
    private func extract(_ source: String, into host: String) throws {
        if case .archive(_, let digest)? = plan.entries.first(where: { if case .archive(source, _) = $0.content { return true }; return false })?.content {
            var hasher = DigestHasher()
            try FileWriting.forEachChunk(of: source) { hasher.update($0) }
            try Self.verify(hasher.finalize(), expected: digest, source: source, entry: "")
        }
        try TarArchive.extract(source, into: URL(fileURLWithPath: host), scratch: plan.scratch, gate: gate)
        guard plan.chown != nil else { return }
        for member in try TarArchive.memberPaths(ofArchiveAt: source) where !ContainedPath.components(member).isEmpty {
            let resolved = try ContainedPath.resolve(member, in: host, followFinal: false)
            let path = ContainedPath.join(host, resolved)
            guard lchown(path, uid, gid) == 0 || errno == ENOENT else { throw FileOperationError.system("lchown", path, errno) }
        }
    }

    private func writeFile(at host: String, mode: UInt32, _ body: (Int32) throws -> Void) throws {
        let fd = open(host, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileOperationError.system("open", host, errno) }
        defer { close(fd) }
        try body(fd)
        // Owner first: chown clears setuid/setgid, which the mode then sets.
        guard fchown(fd, uid, gid) == 0 else { throw FileOperationError.system("fchown", host, errno) }
        guard fchmod(fd, mode_t(mode)) == 0 else { throw FileOperationError.system("fchmod", host, errno) }
    }

    private func setOwnerAndMode(_ host: String, _ mode: UInt32) throws {
        guard lchown(host, uid, gid) == 0 else { throw FileOperationError.system("lchown", host, errno) }
        guard chmod(host, mode_t(mode)) == 0 else { throw FileOperationError.system("chmod", host, errno) }
    }

    private func setTime(_ host: String, _ time: timespec, follow: Bool) throws {
        var times = [time, time]
        guard utimensat(AT_FDCWD, host, &times, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 else {
            throw FileOperationError.system("utimensat", host, errno)
        }
    }

    private func remove(_ host: String) throws {
        var info = stat()
        if lstat(host, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            try FileManager.default.removeItem(atPath: host)
        } else if unlink(host) != 0 && errno != ENOENT {
            throw FileOperationError.system("unlink", host, errno)
        }
    }

    /// Streams `source` into `fd`, 1 MiB at a time, hashing what it copies: the bytes written
    /// must be the bytes the step's key digested when it was planned, or the copy fails.
    private static func copyContents(of source: String, to fd: Int32, path: String, expecting digest: Digest?,
                                     entry: String, gate: WriteGate) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { throw FileOperationError.system("open", source, errno) }
        defer { close(input) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = DigestHasher()
        while true {
            let count = try FileWriting.read(input, into: buffer, path: source)
            if count == 0 { break }
            try gate.passBytes(count)
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            hasher.update(chunk)
            try FileWriting.writeAll(fd, chunk, path: path)
        }
        try verify(hasher.finalize(), expected: digest, source: source, entry: entry)
    }

    /// Fails when a source's bytes are no longer those its plan hashed.
    static func verify(_ actual: Digest, expected: Digest?, source: String, entry: String) throws {
        guard let expected, actual != expected else { return }
        throw FileOperationError("context changed during the build: \(entry.isEmpty ? source : entry) no longer has the content "
            + "its cache key was computed from (\(expected.encoded.prefix(12)), now \(actual.encoded.prefix(12))); build again")
    }
}
