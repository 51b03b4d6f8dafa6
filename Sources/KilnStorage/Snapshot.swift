import Foundation
import Glibc

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

    /// How many directory walks run at once by default: one per core.
    public static var defaultParallelism: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Records the tree at `root`.
    ///
    /// The first levels are read breadth first until there are enough subtrees to share out;
    /// then up to `parallelism` subtrees are walked at once.
    public static func capture(_ root: URL, parallelism: Int = defaultParallelism) async throws -> Snapshot {
        let rootPath = root.path
        guard let rootMetadata = try TreeWalker.readMetadata(absolutePath: rootPath) else {
            throw StorageError.system(operation: "statx", path: rootPath, errno: ENOENT)
        }
        let device = rootMetadata.device

        var collected: [(String, FileMetadata)] = []
        var frontier = [TreeWalker.Pending(relativePath: "")]
        var depth = 0
        while !frontier.isEmpty && (parallelism <= 1 || frontier.count < parallelism * 4) && depth < 3 {
            var next: [TreeWalker.Pending] = []
            for pending in frontier {
                next += try TreeWalker.readDirectory(root: rootPath, relativePath: pending.relativePath,
                                                     rootDevice: device, into: &collected)
            }
            frontier = next
            depth += 1
            if parallelism <= 1 { break }
        }

        var entries = Dictionary(collected, uniquingKeysWith: { first, _ in first })
        if parallelism <= 1 {
            var rest: [(String, FileMetadata)] = []
            for pending in frontier {
                try TreeWalker.walk(root: rootPath, from: pending, rootDevice: device, into: &rest)
            }
            entries.merge(rest, uniquingKeysWith: { first, _ in first })
            return Snapshot(root: root, entries: entries)
        }

        try await withThrowingTaskGroup(of: [(String, FileMetadata)].self) { group in
            var remaining = frontier[...]
            func startNext() {
                guard let pending = remaining.popFirst() else { return }
                group.addTask {
                    var part: [(String, FileMetadata)] = []
                    try TreeWalker.walk(root: rootPath, from: pending, rootDevice: device, into: &part)
                    return part
                }
            }
            for _ in 0..<parallelism { startNext() }
            while let part = try await group.next() {
                entries.merge(part, uniquingKeysWith: { first, _ in first })
                startNext()
            }
        }
        return Snapshot(root: root, entries: entries)
    }
}
