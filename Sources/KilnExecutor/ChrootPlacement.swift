import CChroot
import Foundation
import Glibc
import KilnArchive
import KilnStorage

/// What an OCI runtime would mount for a step (``MountTargets``), put into the step's rootfs
/// by Kiln itself for chroot isolation, which cannot mount, and taken out again afterwards so
/// that the rootfs then differs from before only by what the step did: the layer diff sees
/// exactly what a runc run gives, and nothing of a mount or secret ever reaches a layer.
///
/// Each target's parent is resolved inside the rootfs the way a chroot would (never through a
/// symlink out of it) and kept open; whatever the image has at the target is moved aside into
/// a stash beside the rootfs (same filesystem, out of the chroot's reach) and put back after
/// the step with its mtime. What is placed:
/// - `/proc`: procfs with Docker's read-only and masked paths where the process may mount,
///   else an empty directory; `/sys` an empty directory.
/// - `/dev`: a fresh directory with the standard nodes made by `mknod`, `pts`, `shm`,
///   `mqueue` and the `/proc/self/fd` links.
/// - the generated /etc files, written.
/// - a read-only bind mount (secrets, context and stage mounts, the heredoc script): a copy,
///   removed after the step, so nothing the step does reaches the source.
/// - a read-write bind mount (a cache, an ssh agent socket, a private copy): the source itself,
///   moved in (copied across filesystems) and back out after the step, so its changes persist.
/// - a tmpfs mount: an empty directory (mode 1777).
final class ChrootPlacement {
    /// One placed target.
    private struct Placed {
        var parent: Int32
        var name: String
        /// The target's resolved path below the rootfs.
        var path: String
        /// Its name in the stash when the image had an entry there, and that entry's mtime.
        var stashed: (name: String, mtime: timespec)?
        /// The source moved in (or copied in, `copied`), to go back out after the step, and
        /// its file type (`S_IFDIR`, `S_IFSOCK`, …): only an entry of that type goes back.
        var movedFrom: URL?
        var sourceType: mode_t = 0
        var copied = false
        /// A mount Kiln made at the target, detached after the step.
        var mounted = false
    }

    /// The mtimes of a directory Kiln placed entries in: before placing, and after.
    private struct ParentTimes {
        var fd: Int32
        var before: timespec
        var placed: timespec?
    }

    /// Every descriptor opened, closed when the placement goes.
    private var descriptors: [Int32] = []

    /// Whether procfs can be mounted here; learnt from the first try, then not tried again.
    nonisolated(unsafe) private static var procMountable = true
    private static let procLock = NSLock()

    private let root: ContainedRoot
    private let stash: URL
    private let stashFD: Int32
    private var placed: [Placed] = []
    private var parents: [String: ParentTimes] = [:]
    /// Mount points Kiln created (container paths, parents before children), as ``MountTargets/prepare(_:in:)`` reports them.
    private(set) var created: [String] = []
    /// Image entries moved aside and back (container paths): only their ctime moved.
    private(set) var moved: [String] = []

    private init(root: ContainedRoot, stash: URL, stashFD: Int32) {
        self.root = root
        self.stash = stash
        self.stashFD = stashFD
    }

    deinit {
        for fd in descriptors { close(fd) }
        close(stashFD)
        try? FileManager.default.removeItem(at: stash)
    }

    /// Places `targets` into `rootfs`; on failure everything placed so far is taken out again.
    static func place(_ targets: [MountTargets.Target], in rootfs: URL, etcFiles: GeneratedEtcFiles) async throws -> ChrootPlacement {
        let stash = rootfs.deletingLastPathComponent()
            .appendingPathComponent(".\(rootfs.lastPathComponent).chroot-stash-\(UInt64.random(in: .min ... .max))")
        guard mkdir(stash.path, 0o700) == 0 else { throw failure("cannot make \(stash.path)", errno) }
        let stashFD = open(stash.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard stashFD >= 0 else {
            rmdir(stash.path)
            throw failure("cannot open \(stash.path)", errno)
        }
        let placement = ChrootPlacement(root: try ContainedRoot(path: rootfs.path), stash: stash, stashFD: stashFD)
        do {
            for target in targets { try await placement.place(target, etcFiles: etcFiles) }
            for (key, var times) in placement.parents {
                times.placed = modificationTime(times.fd)
                placement.parents[key] = times
            }
        } catch {
            await placement.remove()
            throw error
        }
        return placement
    }

    private static func failure(_ message: String, _ code: Int32) -> ExecutorError {
        .chrootFailed("\(message): \(String(cString: strerror(code)))")
    }

    private static func modificationTime(_ fd: Int32) -> timespec? {
        var info = stat()
        return fstat(fd, &info) == 0 ? info.st_mtim : nil
    }

    private func place(_ target: MountTargets.Target, etcFiles: GeneratedEtcFiles) async throws {
        var components: [String] = []
        for component in target.path.split(separator: "/") where component != "." {
            if component == ".." { _ = components.popLast() } else { components.append(String(component)) }
        }
        guard let name = components.popLast() else { throw ExecutorError.cannotCreateMountTarget(target.path) }
        let parentFD: Int32
        let resolved: [String]
        do {
            (parentFD, resolved) = try root.openDirectory(resolving: components.joined(separator: "/"), create: true) {
                created.append("/" + $0)
            }
        } catch {
            throw ExecutorError.chrootFailed("cannot place \(target.path) in the step's root: \(error)")
        }
        descriptors.append(parentFD)
        let path = "/" + (resolved + [name]).joined(separator: "/")
        var entry = Placed(parent: parentFD, name: name, path: path)
        // One record per directory: its mtime before Kiln touched it.
        let directory = "/" + resolved.joined(separator: "/")
        if parents[directory] == nil, let before = Self.modificationTime(parentFD) {
            parents[directory] = ParentTimes(fd: parentFD, before: before)
        }
        var info = stat()
        if fstatat(entry.parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            let stashName = "\(placed.count)"
            guard renameat(entry.parent, name, stashFD, stashName) == 0 else {
                throw Self.failure("cannot move the image's \(path) aside", errno)
            }
            entry.stashed = (stashName, info.st_mtim)
        } else {
            // A mount point runc would have had created here: reported the same way, so the
            // builder treats the directory holding it as it does after a runc run.
            created.append(path)
        }
        // Recorded only now: from here on, whatever is at the target is Kiln's to remove.
        placed.append(entry)
        let index = placed.count - 1
        let hostPath = root.hostPath(resolved + [name])
        switch target.content {
        case .proc:
            try makeDirectory(entry, mode: 0o755)
            placed[index].mounted = Self.mountProc(at: hostPath)
        case .sys:
            try makeDirectory(entry, mode: 0o755)
        case .devices:
            try makeDirectory(entry, mode: 0o755)
            try makeDevices(in: hostPath)
        case .etcFile(let file):
            try writeFile(entry, contents: etcFiles.contents(of: file))
        case .step(.tmpfs):
            try makeDirectory(entry, mode: 0o1777)
        case .step(.bind(let source, _, let readOnly)):
            var sourceInfo = stat()
            guard lstat(source.path, &sourceInfo) == 0 else { throw Self.failure("cannot read \(source.path)", errno) }
            placed[index].sourceType = sourceInfo.st_mode & S_IFMT
            if readOnly {
                try await copy(source, to: hostPath)
            } else if renameat(AT_FDCWD, source.path, entry.parent, name) == 0 {
                placed[index].movedFrom = source
            } else if errno == EXDEV {
                try await copy(source, to: hostPath)
                placed[index].movedFrom = source
                placed[index].copied = true
            } else {
                throw Self.failure("cannot move \(source.path) to \(path) in the step's root", errno)
            }
        }
    }

    private func makeDirectory(_ entry: Placed, mode: mode_t) throws {
        guard mkdirat(entry.parent, entry.name, 0o700) == 0 else { throw Self.failure("cannot make \(entry.path)", errno) }
        // The mode exactly, whatever the umask.
        guard fchmodat(entry.parent, entry.name, mode, 0) == 0 else { throw Self.failure("cannot set the mode of \(entry.path)", errno) }
    }

    private func writeFile(_ entry: Placed, contents: String) throws {
        let fd = openat(entry.parent, entry.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure("cannot write \(entry.path)", errno) }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        guard fchmod(fd, 0o644) == 0, bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw Self.failure("cannot write \(entry.path)", errno)
        }
    }

    private func copy(_ source: URL, to hostPath: String) async throws {
        do {
            try await TreeCopier.copyEntry(from: source, to: URL(fileURLWithPath: hostPath))
        } catch {
            throw ExecutorError.chrootFailed("cannot copy \(source.path) into the step's root: \(error)")
        }
    }

    /// The nodes, directories and links runc gives a container's /dev.
    private func makeDevices(in directory: String) throws {
        for device in RuntimeSpec.dockerDefaultDevices {
            let path = directory + "/" + URL(fileURLWithPath: device.path).lastPathComponent
            guard mknod(path, S_IFCHR | 0o666, dev_t(UInt64(device.major) << 8 | UInt64(device.minor))) == 0 else {
                throw Self.failure("cannot make the device node \(device.path) in the step's root (chroot isolation needs CAP_MKNOD)", errno)
            }
            chmod(path, 0o666)
        }
        // A filesystem mounted nodev lets the nodes be made but not opened.
        let probe = open(directory + "/null", O_WRONLY | O_CLOEXEC)
        guard probe >= 0 else {
            throw Self.failure("the step's /dev/null cannot be opened (is Kiln's root on a filesystem mounted nodev? "
                + "put KILN_ROOT on one without it, an emptyDir for instance)", errno)
        }
        close(probe)
        for (name, mode) in [("pts", mode_t(0o755)), ("shm", 0o1777), ("mqueue", 0o1777)] {
            guard mkdir(directory + "/" + name, 0o700) == 0, chmod(directory + "/" + name, mode) == 0 else {
                throw Self.failure("cannot make /dev/\(name) in the step's root", errno)
            }
        }
        for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                               ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")] {
            guard symlink(target, directory + "/" + name) == 0 else { throw Self.failure("cannot make /dev/\(name) in the step's root", errno) }
        }
    }

    /// procfs at `path` with Docker's read-only and masked paths, where the process may mount
    /// (CAP_SYS_ADMIN and no seccomp or AppArmor rule against it); false leaves `path` an
    /// empty directory.
    private static func mountProc(at path: String) -> Bool {
        procLock.lock()
        defer { procLock.unlock() }
        guard procMountable else { return false }
        guard kiln_mount_proc(path) == 0 else {
            procMountable = false
            return false
        }
        for readOnly in RuntimeSpec.dockerReadonlyPaths where readOnly.hasPrefix("/proc/") {
            let target = path + readOnly.dropFirst("/proc".count)
            if FileManager.default.fileExists(atPath: target) { _ = kiln_bind_read_only(target, target) }
        }
        for masked in RuntimeSpec.dockerMaskedPaths where masked.hasPrefix("/proc/") {
            let target = path + masked.dropFirst("/proc".count)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else { continue }
            _ = isDirectory.boolValue ? kiln_mount_empty(target) : kiln_bind_read_only("/dev/null", target)
        }
        return true
    }

    /// Reads the directories' mtimes as the step left them; call once the step's processes are gone.
    func stepEnded() {
        for (key, var times) in parents {
            if let now = Self.modificationTime(times.fd), let placed = times.placed, !Self.same(now, placed) {
                // The step changed the directory itself: its time is the step's, not Kiln's.
                times.before = now
            }
            parents[key] = times
        }
    }

    private static func same(_ lhs: timespec, _ rhs: timespec) -> Bool {
        lhs.tv_sec == rhs.tv_sec && lhs.tv_nsec == rhs.tv_nsec
    }

    /// Takes everything placed out again, children first: mounts detached, sources moved (or
    /// copied) back, copies and generated files removed, the image's entries put back with
    /// their mtimes, created mount points removed when empty, and every directory touched
    /// given back its mtime (the step's, when the step changed it).
    func remove() async {
        for entry in placed.reversed() {
            if entry.mounted { _ = kiln_unmount_tree(root.hostPath(entry.path.split(separator: "/").map(String.init))) }
            if let source = entry.movedFrom { await moveBack(entry, to: source) }
            try? ContainedRoot.removeTree(entry.parent, entry.name)
            if let stashed = entry.stashed, renameat(stashFD, stashed.name, entry.parent, entry.name) == 0 {
                var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */), stashed.mtime]
                utimensat(entry.parent, entry.name, &times, AT_SYMLINK_NOFOLLOW)
                moved.append(entry.path)
            }
        }
        MountTargets.removeUnused(created, in: URL(fileURLWithPath: root.path))
        for times in parents.values {
            var values = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */), times.before]
            futimens(times.fd, &values)
        }
        placed = []
    }

    /// Puts what the step left at a read-write target back at `source`: moved back, or, when it
    /// was copied in across filesystems, copied back over the source. Whatever the step left
    /// there of another kind than the source is not taken back (the source is made again empty).
    private func moveBack(_ entry: Placed, to source: URL) async {
        var now = stat()
        // A symlink (or anything else) the step left in the source's place is not taken back:
        // a cache directory must stay a directory Kiln made.
        let present = fstatat(entry.parent, entry.name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_mode & S_IFMT == entry.sourceType
        if entry.copied {
            guard present else { return }
            let previous = source.deletingLastPathComponent().appendingPathComponent(".\(source.lastPathComponent).before-step")
            guard rename(source.path, previous.path) == 0 else { return }
            do {
                try await TreeCopier.copyEntry(from: URL(fileURLWithPath: root.hostPath(entry.path.split(separator: "/").map(String.init))),
                                               to: source)
                try? FileManager.default.removeItem(at: previous)
            } catch {
                try? FileManager.default.removeItem(at: source)
                rename(previous.path, source.path)
            }
            return
        }
        if present && renameat(entry.parent, entry.name, AT_FDCWD, source.path) == 0 { return }
        // The step removed or replaced it: an empty directory keeps a cache usable.
        if entry.sourceType == S_IFDIR { mkdir(source.path, 0o755) }
    }
}
