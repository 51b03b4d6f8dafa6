import Foundation
import Glibc
import KilnArchive
import KilnCache
import KilnOCI
import KilnStorage

/// The one writable rootfs a stage keeps across consecutive cache misses: the layer chain
/// is materialised once, and each step's layer is the difference between the snapshots
/// taken before and after it, instead of a fresh copy of the chain per step.
struct WorkingRootfs: Sendable {
    /// The rootfs (overlay on the chain directory, or a copy of it).
    let rootfs: Rootfs
    /// The tree as the previous step left it.
    private(set) var before: Snapshot

    /// Where steps run.
    var path: URL { rootfs.path }

    /// A writable rootfs holding `layers` (their blobs already in the store).
    static func open(_ layers: [StageLayer], session: BuildSession) async throws -> WorkingRootfs {
        let references = layers.map { LayerReference(blob: session.store.path(for: $0.descriptor.digest), diffID: $0.diffID) }
        // A copy, not an overlay: steps are diffed by comparing snapshots of this one tree, and
        // in an overlay's merged view a copy-up changes inode numbers, which reads as a
        // replaced directory. The overlay's own upper-dir diff fits one rootfs per step only.
        let rootfs = try await session.snapshots.makeRootfs(references, scratch: session.scratch, allowOverlay: false)
        do {
            return WorkingRootfs(rootfs: rootfs, before: try await Snapshot.capture(rootfs.path))
        } catch {
            try? rootfs.release()
            throw error
        }
    }

    /// Turns what changed since the last commit into a layer blob in the content store;
    /// nil when the step changed nothing.
    mutating func commit(session: BuildSession) async throws -> CachedLayer? {
        let after = try await Snapshot.capture(rootfs.path, baseline: before)
        let changes = after.changes(since: before)
        before = after
        if changes.isEmpty { return nil }
        let temporary = session.scratch.appendingPathComponent("layer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let writer = LayerWriter(compression: session.request.compression, sourceDateEpoch: session.request.sourceDateEpoch)
        let root = rootfs.path
        let written = try await BlockingWork.run { try writer.write(changes: changes, from: root, to: temporary) }
        try await session.store.ingest(contentsOf: temporary, expected: written.digest, size: written.size)
        let descriptor = Descriptor(mediaType: written.mediaType, digest: written.digest, size: written.size)
        return CachedLayer(descriptor: descriptor, diffID: written.diffID)
    }

    /// Puts back the mtime of the directories holding `createdPaths` (mount points the
    /// executor made and removed again), so a step that wrote nothing there has no layer.
    func restoreParentTimes(of createdPaths: [String]) {
        for path in createdPaths {
            let relative = String(path.drop { $0 == "/" })
            guard !FileManager.default.fileExists(atPath: rootfs.path.appendingPathComponent(relative).path) else { continue }
            let parent = relative.lastIndex(of: "/").map { String(relative[..<$0]) } ?? ""
            // The root is no entry of a layer; its mtime does not matter.
            guard !parent.isEmpty, let time = before.entries[parent]?.mtime else { continue }
            let parentPath = rootfs.path.appendingPathComponent(parent).path
            var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */),
                         timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))]
            _ = utimensat(AT_FDCWD, parentPath, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// Unmounts and removes the rootfs.
    func release() {
        try? rootfs.release()
    }
}
