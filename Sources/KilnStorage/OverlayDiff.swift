import Foundation
import KilnArchive
import KilnConcurrency

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
        let lowers = lowers.compactMap { try? CacheMountTree($0) }
        // Each entry is judged on its own (lookups in the lowers, which only read), so the
        // entries are shared out in slices; the order comes from the sort at the end.
        let entries = Array(snapshot.entries)
        let sliceSize = max(1024, (entries.count + parallelism * 4 - 1) / max(1, parallelism * 4))
        let slices = stride(from: 0, to: entries.count, by: sliceSize).map { entries[$0..<min($0 + sliceSize, entries.count)] }
        var changes: [LayerChange] = []
        changes.reserveCapacity(entries.count)
        try await forEachConcurrently(slices, limit: parallelism, { slice in
            try Snapshot.changes(of: slice, upper: upper, lowers: lowers)
        }, receive: { changes += $0 })
        return changes.sortedForLayer()
    }

    /// The changes the upper's entries `slice` stand for (see ``overlayChanges(upper:lowers:parallelism:)``).
    private static func changes(of slice: ArraySlice<(key: String, value: FileMetadata)>, upper: URL,
                                lowers: [CacheMountTree]) throws -> [LayerChange] {
        var changes: [LayerChange] = []
        for (path, metadata) in slice {
            if metadata.kind == .characterDevice && metadata.rdev == 0 {
                changes.append(.delete(path: path))
                continue
            }
            if Overlay.marker("redirect", in: metadata.overlayMarkers) != nil {
                throw StorageError.unsupportedOverlayEntry(path: path, reason: "renamed directory (redirect_dir)")
            }
            if Overlay.marker("metacopy", in: metadata.overlayMarkers) != nil {
                throw StorageError.unsupportedOverlayEntry(path: path, reason: "metadata-only copy-up (metacopy)")
            }
            if metadata.kind == .regular, isUnchangedCopyUp(path, metadata, upper: upper, lowers: lowers) { continue }
            changes.append(.write(path: path))
            if metadata.kind == .directory, Overlay.marker("opaque", in: metadata.overlayMarkers) == Array("y".utf8),
               topmostLowerEntry(path, in: lowers)?.metadata.kind == .directory {
                changes.append(.opaque(directory: path))
            }
        }
        return changes
    }

    /// The entry at `path` in the topmost of `lowers` that has one (a whiteout there is a
    /// character device and hides the lowers below it), read without following a symbolic link
    /// on the way, with the lower it is in. Nil when none has it, or a link or a file stands
    /// where one of its parents should be (then the merged lowers do not have it either).
    static func topmostLowerEntry(_ path: String, in lowers: [CacheMountTree]) -> (metadata: FileMetadata, lower: CacheMountTree)? {
        for lower in lowers {
            do {
                let found = try lower.withParent(of: path) { parent, name in
                    try TreeWalker.readMetadata(directoryFD: parent, name: name, absolutePath: lower.path + "/" + path)
                }
                if let found { return (found, lower) }
                if hidesLowers(below: path, in: lower) { return nil }
            } catch StorageError.system(_, _, ENOENT) {
                if hidesLowers(below: path, in: lower) { return nil }
            } catch {
                return nil
            }
        }
        return nil
    }

    /// Whether a directory on the way to `path` is opaque in `lower`: then the lowers below it
    /// do not show what they have there (a layer removed the directory and made it again).
    static func hidesLowers(below path: String, in lower: CacheMountTree) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            let directory = prefix
            guard let metadata = (try? lower.withParent(of: directory) { parent, name in
                try TreeWalker.readMetadata(directoryFD: parent, name: name, absolutePath: lower.path + "/" + directory)
            }) ?? nil else { return false }
            if metadata.kind == .directory, Overlay.marker("opaque", in: metadata.overlayMarkers) == Array("y".utf8) { return true }
        }
        return false
    }

    /// Whether the regular file at `path` of the upper directory (`metadata`, read there) is
    /// the topmost lower's file unchanged: the same mode, owner, size, mtime and recorded xattrs
    /// (overlay's own markers are never among them), and the same bytes.
    static func isUnchangedCopyUp(_ path: String, _ metadata: FileMetadata, upper: URL, lowers: [CacheMountTree]) -> Bool {
        guard let (old, lower) = topmostLowerEntry(path, in: lowers), old.kind == .regular,
              old.permissions == metadata.permissions, old.uid == metadata.uid, old.gid == metadata.gid,
              old.size == metadata.size, old.mtime == metadata.mtime,
              old.xattrs == metadata.xattrs
        else { return false }
        let upperFile = open(upper.path + "/" + path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard upperFile >= 0 else { return false }
        defer { close(upperFile) }
        let lowerFile = (try? lower.withParent(of: path) { parent, name in openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }) ?? -1
        guard lowerFile >= 0 else { return false }
        defer { close(lowerFile) }
        return sameBytes(lowerFile, upperFile)
    }

    /// Whether two open files hold the same bytes from where they stand, read in 64 KiB chunks.
    static func sameBytes(_ first: Int32, _ second: Int32) -> Bool {
        var left = [UInt8](repeating: 0, count: 65536), right = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(first, &left, left.count)
            guard count >= 0 else { return false }
            var filled = 0
            while filled < count {
                let got = right.withUnsafeMutableBytes { read(second, $0.baseAddress! + filled, count - filled) }
                guard got > 0 else { return false }
                filled += got
            }
            if count == 0 {
                var extra: UInt8 = 0
                return read(second, &extra, 1) == 0
            }
            if left[0..<count] != right[0..<count] { return false }
        }
    }
}
