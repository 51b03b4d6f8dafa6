import Glibc

extension Snapshot {
    /// This snapshot with the entries at `paths` (relative to the root) taken as they are now
    /// when only their ctime moved: Kiln itself moved them aside and back around a step
    /// (chroot isolation places the step's /etc files and mounts where the image has entries
    /// of its own), which no utime can undo. An entry that differs in anything else — size,
    /// mtime, mode, owner, inode, link count, target, xattrs — is left as it was recorded, so
    /// the diff still sees what the step did to it (through a hard link, say).
    public func acceptingMoves(of paths: [String]) -> Snapshot {
        var entries = self.entries
        for path in paths {
            guard let old = entries[path],
                  let current = try? TreeWalker.readMetadata(absolutePath: root.path + "/" + path)
            else { continue }
            var moved = old
            moved.ctime = current.ctime
            if moved == current { entries[path] = current }
        }
        return Snapshot(root: root, entries: entries)
    }
}
