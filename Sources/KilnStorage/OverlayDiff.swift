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
    /// For the same reason a regular file overlayfs only copied up (opened for writing, or
    /// locked, by apt, dpkg or debconf, and left as it was: same mode, owner, size, mtime and
    /// bytes as in the lowers) is no change.
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
            if metadata.kind == .regular, isUnchangedCopyUp(path, metadata, upper: upper, lowers: lowers) { continue }
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

    /// Whether the regular file at `path` of the upper directory is the topmost lower's file
    /// unchanged: the same mode, owner, size and mtime, and the same bytes.
    static func isUnchangedCopyUp(_ path: String, _ metadata: FileMetadata, upper: URL, lowers: [URL]) -> Bool {
        for lower in lowers {
            let lowerPath = lower.appendingPathComponent(path).path
            var status = stat()
            guard lstat(lowerPath, &status) == 0 else { continue }
            guard (status.st_mode & S_IFMT) == S_IFREG, status.st_mode & 0o7777 == metadata.permissions,
                  status.st_uid == metadata.uid, status.st_gid == metadata.gid, Int64(status.st_size) == metadata.size,
                  Int64(status.st_mtim.tv_sec) == metadata.mtime.seconds, Int64(status.st_mtim.tv_nsec) == metadata.mtime.nanoseconds
            else { return false }
            return sameBytes(lowerPath, upper.appendingPathComponent(path).path)
        }
        return false
    }

    /// Whether two files hold the same bytes, read in 64 KiB chunks.
    static func sameBytes(_ first: String, _ second: String) -> Bool {
        let a = open(first, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), b = open(second, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        defer {
            if a >= 0 { close(a) }
            if b >= 0 { close(b) }
        }
        guard a >= 0, b >= 0 else { return false }
        var left = [UInt8](repeating: 0, count: 65536), right = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(a, &left, left.count)
            guard count >= 0 else { return false }
            var filled = 0
            while filled < count {
                let got = right.withUnsafeMutableBytes { read(b, $0.baseAddress! + filled, count - filled) }
                guard got > 0 else { return false }
                filled += got
            }
            if count == 0 {
                var extra: UInt8 = 0
                return read(b, &extra, 1) == 0
            }
            if left[0..<count] != right[0..<count] { return false }
        }
    }
}
