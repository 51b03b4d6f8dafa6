import Foundation
import KilnOCI
import KilnStorage

/// What keeping a root within its ``DiskBudget`` removed.
public struct DiskBudgetReport: Sendable, Hashable {
    /// Snapshot directories removed.
    public var snapshots = 0
    /// Cache entries removed.
    public var entries = 0
    /// Blobs removed.
    public var blobs = 0
    /// Bytes freed.
    public var bytes: UInt64 = 0
    /// What the root held of snapshots and blobs before, and the budget; nil without one.
    public var usedBefore: UInt64 = 0
    /// The budget in bytes; nil without one.
    public var limit: UInt64?

    /// Whether anything was removed.
    public var isEmpty: Bool { snapshots == 0 && entries == 0 && blobs == 0 }
}

extension LocalCacheBackend {
    /// Brings what `root` keeps — snapshots and blobs — within `root.budget`, least recently
    /// used first: snapshots (derived data) not used since `protectedSince` (the oldest live
    /// build's start), then, only when no other build runs (`othersRunning` false), cache
    /// entries by last hit with the blobs no remaining entry needs, and blobs no entry needs
    /// (base layers) by their age. A build does this when it starts.
    public func enforceBudget(root: KilnRoot, protectedSince: Date, othersRunning: Bool) throws -> DiskBudgetReport {
        var report = DiskBudgetReport()
        guard let limit = root.budget.bytes(onFilesystemOf: root.url.path) else { return report }
        report.limit = limit
        let snapshots = SnapshotStore(root: root)
        let store = ContentStore(root: root)
        let blobs = Self.blobFiles(in: store)
        var used = snapshots.usage().reduce(UInt64(0)) { $0 + $1.bytes } + blobs.reduce(UInt64(0)) { $0 + UInt64($1.size) }
        report.usedBefore = used
        guard used > limit else { return report }
        let evicted = snapshots.evict(freeing: used - limit, usedBefore: protectedSince)
        (report.snapshots, report.bytes) = (evicted.count, evicted.bytes)
        used -= min(used, evicted.bytes)
        guard used > limit, !othersRunning else { return report }

        // Entries and unreferenced blobs, in one least-recently-used order.
        let entries = try self.entries()
        var users: [Digest: Int] = [:]
        for entry in entries { if let layer = entry.layer { users[layer.descriptor.digest, default: 0] += 1 } }
        let sizes = Dictionary(blobs.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        enum Candidate { case entry(CacheEntry), blob(Digest) }
        var candidates: [(time: Date, candidate: Candidate)] = entries.map { (Self.modified(path(for: $0)), .entry($0)) }
        candidates += blobs.filter { users[$0.digest] == nil }.map { ($0.modified, .blob($0.digest)) }
        for (time, candidate) in candidates.sorted(by: { $0.time < $1.time }) where used > limit && time < protectedSince {
            var orphaned: Digest?
            switch candidate {
            case .entry(let entry):
                guard try remove(entry) else { continue }
                report.entries += 1
                if let digest = entry.layer?.descriptor.digest {
                    users[digest, default: 1] -= 1
                    if users[digest] == 0 { orphaned = digest }
                }
            case .blob(let digest):
                orphaned = digest
            }
            if let orphaned, let blob = sizes[orphaned], try store.delete(orphaned) {
                report.blobs += 1
                report.bytes += UInt64(blob.size)
                used -= min(used, UInt64(blob.size))
            }
        }
        return report
    }
}
