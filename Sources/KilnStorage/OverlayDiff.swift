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
    ///
    /// An opaque marker on a directory the lowers (`lowers`, topmost first) do not have hides
    /// nothing, and the kernel sets one or not depending on how the directory was made (a name
    /// removed and made again): it is left out, so the layer is the one a copy-mode diff of the
    /// same tree gives (copy mode is what chroot isolation and machines without overlayfs use).
    public static func overlayChanges(upper: URL, lowers: [URL], parallelism: Int = defaultParallelism) async throws -> [LayerChange] {
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
            if metadata.kind == .directory, Overlay.marker("opaque", in: metadata.xattrs) == Array("y".utf8),
               lowerHasDirectory(path, in: lowers) {
                changes.append(.opaque(directory: path))
            }
        }
        return changes.sortedForLayer()
    }

    /// Whether the topmost of `lowers` that has an entry at `path` has a directory there (a
    /// whiteout or another kind hides the lowers below it).
    static func lowerHasDirectory(_ path: String, in lowers: [URL]) -> Bool {
        for lower in lowers {
            var status = stat()
            guard lstat(lower.appendingPathComponent(path).path, &status) == 0 else { continue }
            return (status.st_mode & S_IFMT) == S_IFDIR
        }
        return false
    }
}
