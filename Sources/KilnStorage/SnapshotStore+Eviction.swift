import Foundation
import Glibc

/// One snapshot directory (a layer snapshot or a whole chain), its size and its last use.
public struct SnapshotUsage: Sendable, Hashable {
    /// The directory.
    public var directory: URL
    /// The bytes of its files (measured once, then kept beside it in `<name>.size`).
    public var bytes: UInt64
    /// When a build last stacked or copied it (its mtime).
    public var lastUse: Date
}

/// Least-recently-used eviction of snapshots: the one way Kiln frees space it made, for the
/// ``DiskBudget`` and before the ``DiskReserve`` would stop a build. A snapshot is only ever
/// derived data (its layer's blob makes it again), and one a live build may be using — used
/// since the oldest live build started — is never removed.
extension SnapshotStore {
    /// Every layer snapshot and chain directory.
    public func usage() -> [SnapshotUsage] {
        [layerSnapshots, directory].flatMap { parent -> [SnapshotUsage] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
            return names.filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }.compactMap { name in
                let url = parent.appendingPathComponent(name, isDirectory: true)
                var info = stat()
                guard lstat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
                return SnapshotUsage(directory: url, bytes: Self.size(of: url),
                                     lastUse: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
            }
        }
    }

    /// Removes snapshots last used before `protectedSince`, least recently used first, until
    /// `bytes` are freed or none is left; a snapshot being made (its chain lock held) is skipped.
    @discardableResult
    public func evict(freeing bytes: UInt64, usedBefore protectedSince: Date) -> (count: Int, bytes: UInt64) {
        var freed: UInt64 = 0, count = 0
        for snapshot in usage().sorted(by: { $0.lastUse < $1.lastUse }) where freed < bytes && snapshot.lastUse < protectedSince {
            let parent = snapshot.directory.deletingLastPathComponent().path
            let name = snapshot.directory.lastPathComponent
            guard let lock = FileLock(tryingPath: parent + "/\(name).lock") else { continue }
            defer { lock.unlock() }
            guard (try? Self.discard(snapshot.directory)) != nil else { continue }
            freed += snapshot.bytes
            count += 1
        }
        return (count, freed)
    }

    /// Removes the snapshot or chain directory `directory` (its chain lock held by the caller):
    /// first renamed to a temp name, so a removal cut short (SIGKILL, a crash) never leaves a
    /// partial tree under the name builds stack (the temp name is swept like an abandoned
    /// unpack); its mounts detached, its size record and durability marker removed.
    static func discard(_ directory: URL) throws {
        let parent = directory.deletingLastPathComponent()
        let name = directory.lastPathComponent
        let doomed = parent.appendingPathComponent(".tmp-\(name)-discarded-\(String(UInt64.random(in: .min ... .max), radix: 16))")
        MountTable.detachAll(under: directory.path)
        try posix("rename", directory.path) { rename(directory.path, doomed.path) }
        try? FileManager.default.removeItem(atPath: parent.path + "/\(name).size")
        unlink(SnapshotDurability.marker(of: directory))
        try FileManager.default.removeItem(at: doomed)
    }

    /// The bytes of the files below `directory` plus a block per entry, from `<name>.size`
    /// beside it (written when the snapshot was made), else measured and written there (a
    /// snapshot never changes).
    private static func size(of directory: URL) -> UInt64 {
        let record = directory.path + ".size"
        if let text = try? String(contentsOfFile: record, encoding: .utf8), let value = UInt64(text) { return value }
        guard let snapshot = try? Snapshot.captureSequentially(directory) else { return 0 }
        return recordSize(of: snapshot, for: directory)
    }

    /// Writes the size record of the snapshot `directory` whose tree `snapshot` captured, so
    /// the budget never walks it; returns the size.
    @discardableResult
    static func recordSize(of snapshot: Snapshot, for directory: URL) -> UInt64 {
        let total = snapshot.entries.values.reduce(UInt64(0)) { $0 + UInt64(max(0, $1.size)) + 512 }
        try? Data("\(total)".utf8).write(to: URL(fileURLWithPath: directory.path + ".size"), options: .atomic)
        return total
    }
}
