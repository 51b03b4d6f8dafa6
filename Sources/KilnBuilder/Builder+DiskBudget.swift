import Foundation
import KilnCache
import KilnStorage

extension Builder {
    /// Keeps the root within its ``DiskBudget`` as a build starts (least recently used
    /// snapshots, and with no other build running, cache entries and blobs), and lets the disk
    /// reserve evict least recently used snapshots before it stops this build. What any live
    /// build may be using — used since the oldest of them started — is never removed.
    func keepWithinDiskBudget(events: @escaping BuildEventSink) {
        let starts = BuildOwnership.liveBuildStarts(root: root)
        let protectedSince = starts.min() ?? Date()
        let root = root
        do {
            let report = try LocalCacheBackend(root: root)
                .enforceBudget(root: root, protectedSince: protectedSince, othersRunning: starts.count > 1)
            if !report.isEmpty, let limit = report.limit {
                events(.info("disk budget \(DiskReserveShortfall.bytes(limit)) (\(DiskBudget.setting.flag)): "
                    + "\(DiskReserveShortfall.bytes(report.usedBefore)) held; removed the least recently used: "
                    + "\(report.snapshots) snapshots, \(report.entries) cache entries, \(report.blobs) blobs "
                    + "(\(DiskReserveShortfall.bytes(report.bytes)))"))
            }
        } catch {
            events(.warning("keeping \(root.url.path) within its disk budget: \(error)"))
        }
        DiskReserve.registerReclaimer(for: root.url) { bytes in
            let evicted = SnapshotStore(root: root).evict(freeing: bytes, usedBefore: protectedSince)
            if evicted.count > 0 {
                events(.info("disk reserve: removed the \(evicted.count) least recently used snapshots "
                    + "(\(DiskReserveShortfall.bytes(evicted.bytes))) no running build uses"))
            }
            return evicted.bytes
        }
    }
}
