import Foundation
import Synchronization

/// What may free space under a root before its reserve stops a write: a build registers one
/// (least-recently-used snapshots no live build uses, ``SnapshotStore/evict(freeing:usedBefore:)``),
/// and ``DiskReserve/check(_:writing:)`` asks it once before it throws, so a full disk costs
/// old snapshots instead of the build.
extension DiskReserve {
    /// Given the bytes the filesystem is short of the reserve (plus headroom), frees what it
    /// can and returns the bytes freed.
    public typealias Reclaimer = @Sendable (_ bytes: UInt64) -> UInt64

    private static let reclaimers = Mutex<[String: Reclaimer]>([:])

    /// Extra bytes asked for beyond the shortfall, so a writer is not stopped again 8 MiB later.
    static let reclaimHeadroom: UInt64 = 256 << 20

    /// Registers `reclaimer` for writes below `root` (replacing an earlier one) until ``unregisterReclaimer(for:)``.
    public static func registerReclaimer(for root: URL, _ reclaimer: @escaping Reclaimer) {
        reclaimers.withLock { $0[root.standardizedFileURL.path] = reclaimer }
    }

    /// Removes the reclaimer of `root`.
    public static func unregisterReclaimer(for root: URL) {
        _ = reclaimers.withLock { $0.removeValue(forKey: root.standardizedFileURL.path) }
    }

    /// Asks the reclaimer of the root holding `path` to free what `state` lacks; true when it freed anything.
    static func reclaim(below path: String, for state: DiskReserveState) -> Bool {
        let reclaimer = reclaimers.withLock { table in
            table.first { path == $0.key || path.hasPrefix($0.key + "/") }?.value
        }
        guard let reclaimer else { return false }
        // Short of inodes: every snapshot nobody uses may go.
        let wanted = state.isShortOfInodes ? UInt64.max / 2 : state.reservedBytes - state.freeBytes + reclaimHeadroom
        return reclaimer(wanted) > 0
    }
}
