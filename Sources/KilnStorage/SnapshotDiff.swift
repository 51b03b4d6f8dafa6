import KilnArchive

extension Snapshot {
    /// The layer changes that turn the tree `earlier` recorded into the tree this snapshot recorded
    /// (both taken of the same directory), sorted by path in byte order, parents first.
    ///
    /// - New and changed entries are `.write`. A regular file counts as changed when its size,
    ///   mtime, ctime or inode moved; ctime catches a rewrite that restored size and mtime (not
    ///   when the link count moved too: a link made or removed elsewhere moves it).
    /// - A removed entry is one `.delete` at the top of what was removed.
    /// - An entry whose type changed is a `.write`; when a directory became something else, its
    ///   old children get no whiteouts: the layer entry replaces the directory as a whole.
    /// - A directory replaced by a new directory (new inode or birth time) is `.write` +
    ///   `.opaque`, and every entry below it is written.
    /// - When one member of a hardlink group is written, every member in this tree is, so the
    ///   layer can link them.
    /// - Like Docker and containerd, every directory above a change is written too, so the layer
    ///   carries the parents' mode, owner and mtime.
    public func changes(since earlier: Snapshot) -> [LayerChange] {
        var writes = Set<String>()
        var opaques = Set<String>()
        // Old paths below which removed entries need no whiteout of their own.
        var covered = Set<String>()
        var linkedWrites = Set<HardlinkKey>()

        var matched = 0
        for (path, new) in entries {
            guard let old = earlier.entries[path] else {
                writes.insert(path)
                continue
            }
            matched += 1
            if old.kind != new.kind {
                writes.insert(path)
                if old.kind == .directory { covered.insert(path) }
            } else if new.kind == .directory && new.isReplacement(of: old) {
                writes.insert(path)
                opaques.insert(path)
                covered.insert(path)
            } else if new.differs(from: old) {
                writes.insert(path)
            }
        }

        if !opaques.isEmpty {
            for path in entries.keys where hasAncestor(path, in: opaques) {
                writes.insert(path)
            }
            // An opaque directory already hides everything below it, nested replacements included.
            opaques = opaques.filter { !hasAncestor($0, in: opaques) }
        }

        var removed = Set<String>()
        // Every earlier path still present means nothing was removed: skip the second pass.
        if matched < earlier.entries.count {
            for path in earlier.entries.keys where entries[path] == nil {
                removed.insert(path)
            }
        }
        let deletes = removed.filter { !hasAncestor($0, in: removed) && !hasAncestor($0, in: covered) }

        for path in writes {
            if let metadata = entries[path], metadata.kind != .directory, metadata.linkCount > 1 {
                linkedWrites.insert(HardlinkKey(metadata))
            }
        }
        if !linkedWrites.isEmpty {
            for (path, metadata) in entries where metadata.kind != .directory && metadata.linkCount > 1 {
                if linkedWrites.contains(HardlinkKey(metadata)) { writes.insert(path) }
            }
        }

        for path in Array(writes) + Array(deletes) + Array(opaques) {
            var parent = parentPath(path)
            while let directory = parent, !writes.contains(directory) {
                writes.insert(directory)
                parent = parentPath(directory)
            }
        }

        var changes: [LayerChange] = []
        changes.reserveCapacity(writes.count + deletes.count + opaques.count)
        changes += writes.map { .write(path: $0) }
        changes += opaques.map { .opaque(directory: $0) }
        changes += deletes.map { .delete(path: $0) }
        return changes.sortedForLayer()
    }
}

/// Identifies a hardlink group: one inode on one filesystem.
struct HardlinkKey: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ metadata: FileMetadata) {
        device = metadata.device
        inode = metadata.inode
    }
}

/// The parent of a relative path; nil at the top level.
func parentPath(_ path: String) -> String? {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
    return String(path[..<slash])
}

/// Whether a proper ancestor of `path` is in `set`.
func hasAncestor(_ path: String, in set: Set<String>) -> Bool {
    if set.isEmpty { return false }
    var parent = parentPath(path)
    while let directory = parent {
        if set.contains(directory) { return true }
        parent = parentPath(directory)
    }
    return false
}

extension Array where Element == LayerChange {
    /// Sorted by path in byte order (so parents come first); at one path a directory's own
    /// `.write` precedes its `.opaque`.
    func sortedForLayer() -> [LayerChange] {
        func rank(_ change: LayerChange) -> Int {
            switch change {
            case .write: return 0
            case .opaque: return 1
            case .delete: return 2
            }
        }
        return sorted { lhs, rhs in
            if lhs.path == rhs.path { return rank(lhs) < rank(rhs) }
            return lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8)
        }
    }
}
