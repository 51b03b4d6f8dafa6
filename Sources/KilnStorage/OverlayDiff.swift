import Foundation
import KilnArchive

extension Snapshot {
    /// The layer changes recorded in an overlayfs upper directory: a whiteout (a 0/0 character
    /// device) is a `.delete`, a directory marked `trusted.overlay.opaque=y` (or `user.overlay.opaque=y` under `userxattr`) is `.write` +
    /// `.opaque`, anything else is a `.write`. Only the upper directory is walked, so the cost
    /// is that of the change, not of the tree.
    ///
    /// Metadata for the writes must be read through the merged mount: the upper copies carry
    /// overlay-private xattrs that the merged view hides.
    public static func overlayChanges(upper: URL, parallelism: Int = defaultParallelism) async throws -> [LayerChange] {
        let snapshot = try await capture(upper, parallelism: parallelism)
        var changes: [LayerChange] = []
        changes.reserveCapacity(snapshot.entries.count)
        for (path, metadata) in snapshot.entries {
            if metadata.kind == .characterDevice && metadata.rdev == 0 {
                changes.append(.delete(path: path))
                continue
            }
            if Overlay.marker("redirect", in: metadata.xattrs) != nil {
                throw StorageError.unsupportedOverlayEntry(path: path, reason: "renamed directory (redirect_dir)")
            }
            if Overlay.marker("metacopy", in: metadata.xattrs) != nil {
                throw StorageError.unsupportedOverlayEntry(path: path, reason: "metadata-only copy-up (metacopy)")
            }
            changes.append(.write(path: path))
            if metadata.kind == .directory, Overlay.marker("opaque", in: metadata.xattrs) == Array("y".utf8) {
                changes.append(.opaque(directory: path))
            }
        }
        return changes.sortedForLayer()
    }
}
