import Foundation
import Glibc

/// Whether a snapshot on disk may be trusted, decided in one place, without a sync on the
/// build's path.
///
/// A snapshot is derived data: its layer's blob (fsynced in the content store) makes it again.
/// Syncing its tree when it is renamed into place, and the overlay's sync of the upper
/// filesystem when a step's mount goes, wrote out every file a step made before the next step
/// could start (a 500 MB RUN waited seconds for the disk). Instead, a snapshot renamed into
/// place unsynced carries a marker, `<name>.boot`, a symbolic link naming the boot it was
/// made in (`/proc/sys/kernel/random/boot_id`), made before the rename:
/// - within that boot, the page cache holds exactly what was written: a killed or crashed
///   build cannot tear it, so the snapshot is used as it is;
/// - in any later boot (the only way unsynced data can be lost is the machine going down) it
///   may be torn and is never used: it counts as missing, is made again from its blob, and
///   the sweep at a build's start removes it.
///
/// The marker is metadata created before the rename, so a journaling filesystem (ext4, xfs,
/// btrfs) that kept the rename kept the marker too. A snapshot without a marker was synced
/// before it was renamed (or promoted since): it is trusted in every boot. Promotion is in
/// ``sweep(_:markers:promotingOlderThan:)``: once a marker is old enough that the kernel has written its
/// data back anyway, one `syncfs` off the build's path makes it certain, and the marker goes.
enum SnapshotDurability {
    /// This boot's ID; nil where it cannot be read (then snapshots are synced as they are made).
    static let bootID: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }()

    /// The marker of the snapshot `directory`.
    static func marker(of directory: URL) -> String { directory.path + ".boot" }

    /// The boot a snapshot's marker names; nil without a marker (a synced snapshot).
    static func markedBoot(of directory: URL) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink(marker(of: directory), &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `directory` is a snapshot a build may use: it exists, and it was synced or made
    /// in this boot.
    static func isUsable(_ directory: URL) -> Bool {
        var info = stat()
        guard lstat(directory.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
        return !isStale(directory)
    }

    /// Whether `directory` was made unsynced in an earlier boot: it may be torn.
    static func isStale(_ directory: URL) -> Bool {
        guard let boot = markedBoot(of: directory) else { return false }
        return boot != bootID
    }

    /// Makes the finished snapshot `temp` the snapshot at `target` (its chain lock held): a
    /// stale one there is discarded first; then the marker naming this boot, then the rename.
    /// Where the boot cannot be known, the filesystem is synced first instead and no marker made.
    static func publish(_ temp: URL, as target: URL) throws {
        if isStale(target) { try SnapshotStore.discard(target) }
        let marker = marker(of: target)
        unlink(marker)
        if let bootID {
            try posix("symlink", marker) { symlink(bootID, marker) }
        } else {
            try flushFilesystem(of: temp.path)
        }
        try posix("rename", target.path) { rename(temp.path, target.path) }
        if bootID == nil { try syncDirectory(target.deletingLastPathComponent().path) }
    }

    /// How old a marker is before its snapshot is promoted: the kernel writes dirty data back
    /// after 30 s, so by then the `syncfs` has little left to write.
    static let promotionAge: TimeInterval = 300

    /// Sweeps `parent` (a directory of snapshots), given the names of its `markers`: removes the
    /// snapshots of earlier boots' markers (and the markers), skipping any whose chain lock is
    /// held; and promotes the snapshots of this boot whose markers are older than `age`, on a
    /// thread of its own that the caller does not wait for (a process that exits first promotes nothing).
    static func sweep(_ parent: URL, markers names: [String], promotingOlderThan age: TimeInterval) {
        var promotable: [(marker: String, inode: ino_t, changed: Int)] = []
        for name in names {
            let chain = String(name.dropLast(5))
            let snapshot = parent.appendingPathComponent(chain, isDirectory: true)
            if isStale(snapshot) {
                guard let held = FileLock(tryingPath: parent.path + "/\(chain).lock") else { continue }
                defer { held.unlock() }
                guard isStale(snapshot) else { continue }
                if (try? SnapshotStore.discard(snapshot)) != nil || !FileManager.default.fileExists(atPath: snapshot.path) {
                    unlink(marker(of: snapshot))
                }
                continue
            }
            var info = stat()
            guard lstat(marker(of: snapshot), &info) == 0,
                  Date().timeIntervalSince1970 - TimeInterval(info.st_ctim.tv_sec) >= age else { continue }
            promotable.append((marker(of: snapshot), info.st_ino, info.st_ctim.tv_sec))
        }
        guard !promotable.isEmpty else { return }
        let markers = promotable
        Thread.detachNewThread {
            guard (try? flushFilesystem(of: parent.path)) != nil else { return }
            for (marker, inode, changed) in markers {
                let chain = String((marker as NSString).lastPathComponent.dropLast(5))
                guard let held = FileLock(tryingPath: parent.path + "/\(chain).lock") else { continue }
                defer { held.unlock() }
                // The same marker as before the sync: a snapshot made again since is not promoted.
                var info = stat()
                guard lstat(marker, &info) == 0, info.st_ino == inode, info.st_ctim.tv_sec == changed else { continue }
                unlink(marker)
            }
        }
    }
}
