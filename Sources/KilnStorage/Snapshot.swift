import Foundation
import Glibc
import KilnConcurrency

/// The recorded state of a directory tree: every entry below the root, by relative path
/// (`/`-separated, no leading `/`), with the metadata that a later diff compares.
///
/// Directories on another filesystem than the root (mount points) are recorded but not entered.
public struct Snapshot: Sendable {
    /// The directory that was recorded.
    public let root: URL
    /// Every entry below the root by relative path; the root itself is not an entry.
    public let entries: [String: FileMetadata]

    /// A snapshot from already known entries.
    public init(root: URL, entries: [String: FileMetadata]) {
        self.root = root
        self.entries = entries
    }

    /// Records the tree at `root` on the calling thread, one directory at a time: for work that
    /// already runs on a thread of its own.
    static func captureSequentially(_ root: URL) throws -> Snapshot {
        let rootPath = root.path
        guard let rootMetadata = try TreeWalker.readMetadata(absolutePath: rootPath) else {
            throw StorageError.system(operation: "statx", path: rootPath, errno: ENOENT)
        }
        var entries: [String: FileMetadata] = [:]
        try TreeWalker.walk(root: rootPath, from: TreeWalker.Pending(relativePath: ""), rootDevice: rootMetadata.device,
                            baseline: nil, into: &entries)
        return Snapshot(root: root, entries: entries)
    }

    /// How many directory walks run at once by default: one per core.
    public static var defaultParallelism: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Records the tree at `root`.
    ///
    /// The first levels are read breadth first until there are enough subtrees to share out;
    /// then up to `parallelism` subtrees are walked at once. Passing the earlier snapshot of the
    /// same root as `baseline` spares reading xattrs and symlink targets of entries whose ctime
    /// did not move.
    public static func capture(_ root: URL, parallelism: Int = defaultParallelism,
                               baseline: Snapshot? = nil) async throws -> Snapshot {
        let known = baseline?.root.standardizedFileURL.path == root.standardizedFileURL.path ? baseline?.entries : nil
        let rootPath = root.path
        guard let rootMetadata = try TreeWalker.readMetadata(absolutePath: rootPath) else {
            throw StorageError.system(operation: "statx", path: rootPath, errno: ENOENT)
        }
        let device = rootMetadata.device

        var entries: [String: FileMetadata] = [:]
        entries.reserveCapacity(known?.count ?? 0)
        let top = TreeWalker.Pending(relativePath: "")
        if parallelism <= 1 {
            try TreeWalker.walk(root: rootPath, from: top, rootDevice: device, baseline: known, into: &entries)
            return Snapshot(root: root, entries: entries)
        }

        // Breadth first until there are a few subtrees per walker, so that one big directory
        // (`usr/`) does not end up on a single walker.
        var frontier = [top]
        var depth = 0
        while !frontier.isEmpty && frontier.count < parallelism * 4 && depth < 3 {
            var next: [TreeWalker.Pending] = []
            for pending in frontier {
                next += try TreeWalker.readDirectory(root: rootPath, relativePath: pending.relativePath,
                                                     rootDevice: device, baseline: known, into: &entries)
            }
            frontier = next
            depth += 1
        }

        try await forEachConcurrently(frontier, limit: parallelism, { pending in
            var part: [String: FileMetadata] = [:]
            try TreeWalker.walk(root: rootPath, from: pending, rootDevice: device, baseline: known, into: &part)
            return part
        }, receive: { entries.merge($0, uniquingKeysWith: { first, _ in first }) })
        return Snapshot(root: root, entries: entries)
    }
}
