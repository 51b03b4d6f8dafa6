import Foundation
import Glibc
import KilnArchive

/// A stage's working rootfs on overlayfs: directories stacked as read-only lowers (the layer
/// snapshots of the chain below, bottom first), and a fresh upper per step. A step's changes
/// are exactly its own upper directory, so the cost of a step's diff is that of its changes,
/// not of the whole tree, and nothing below is ever copied. When a step's layer is written its
/// upper, unmounted, joins the lowers (``push(_:)``, usually as the layer snapshot it became).
public struct OverlayStack: Sendable {
    /// Owned by the stack; removed on release.
    public let directory: URL
    /// Where steps run while a step is mounted.
    public let merged: URL
    /// The read-only directories below the current step, bottom first.
    public private(set) var lowers: [URL]
    /// The current step's upper and work directories, while mounted.
    private var current: (upper: URL, work: URL)?
    /// Names the next step's directories.
    private var steps = 0

    /// overlayfs stacks at most 500 lowers; a stage that gets this deep starts a new rootfs on a
    /// flattened chain.
    public static let maximumLowers = 400

    /// Whether the next step cannot be stacked on this one.
    public var isFull: Bool { lowers.count >= Self.maximumLowers }

    /// A stack on `lowers` (bottom first; at least one) in a new directory below `scratch`,
    /// with the first step mounted.
    public static func make(lowers: [URL], scratch: URL) throws -> OverlayStack {
        let directory = scratch.appendingPathComponent("ovl-\(String(UInt32.random(in: .min ... .max), radix: 36))")
        var stack = OverlayStack(directory: directory, merged: directory.appendingPathComponent("m"), lowers: lowers)
        do {
            try createDirectory(stack.merged.path)
            try stack.beginStep()
            return stack
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Mounts a fresh upper for the next step (no-op when one is mounted).
    public mutating func beginStep() throws {
        guard current == nil else { return }
        let upper = directory.appendingPathComponent("u\(steps)")
        let work = directory.appendingPathComponent("w\(steps)")
        steps += 1
        for path in [upper, work] { try createDirectory(path.path) }
        do {
            try Overlay.mount(lowers: lowers.reversed().map(\.path), upper: upper.path, work: work.path, at: merged.path)
        } catch {
            try? FileManager.default.removeItem(at: upper)
            try? FileManager.default.removeItem(at: work)
            throw error
        }
        current = (upper, work)
    }

    /// The current step's changes, with directories that were only copied up (a mount point
    /// made and removed inside them, their metadata unchanged) left out.
    public func changes() async throws -> [LayerChange] {
        guard let upper = current?.upper else { return [] }
        let all = try await Snapshot.overlayChanges(upper: upper, lowers: lowers.reversed())
        let opaque = Set(all.compactMap { change -> String? in
            if case .opaque(let directory) = change { return directory }
            return nil
        })
        // Every directory with a changed path below it, found once (not a scan of all paths
        // per change, which is quadratic in a step that writes many files).
        var ancestors = Set<Substring>()
        for change in all {
            let path = change.path
            var index = path.startIndex
            while let slash = path[index...].firstIndex(of: "/") {
                ancestors.insert(path[..<slash])
                index = path.index(after: slash)
            }
        }
        let trees = lowers.reversed().compactMap { try? CacheMountTree($0) }
        return all.filter { change in
            guard case .write(let path) = change, !opaque.contains(path) else { return true }
            if ancestors.contains(Substring(path)) { return true }
            guard let now = try? TreeWalker.readMetadata(absolutePath: upper.path + "/" + path), now.kind == .directory,
                  let before = Snapshot.topmostLowerEntry(path, in: trees)?.metadata
            else { return true }
            return now.permissions != before.permissions || now.kind != before.kind || now.uid != before.uid
                || now.gid != before.gid || now.mtime != before.mtime
        }
    }

    /// The relative path of every entry in the current step's upper directory (nothing when no
    /// step is mounted): what the step wrote, and the directories above it that overlayfs copied up.
    public func writtenPaths() async throws -> [String] {
        guard let upper = current?.upper else { return [] }
        return Array(try await Snapshot.capture(upper).entries.keys)
    }

    /// Unmounts the current step and hands back its upper directory (its work directory is
    /// removed); nil when no step was mounted. The upper is no lower until ``push(_:)``.
    public mutating func endStep() -> URL? {
        guard let (upper, work) = current else { return nil }
        try? Overlay.unmount(merged.path)
        try? FileManager.default.removeItem(at: work)
        current = nil
        return upper
    }

    /// Puts `directory` in place of the bottom lower, while no step is mounted (the next step sees it).
    public mutating func replaceBottom(with directory: URL) {
        precondition(current == nil && !lowers.isEmpty, "the bottom lower is replaced between steps")
        lowers[0] = directory
    }

    /// Puts `directory` on top of the lowers (the next step sees it).
    public mutating func push(_ directory: URL) {
        lowers.append(directory)
    }

    /// How `path` (relative) looked before the current step: in the topmost lower that shows
    /// it (whiteouts and opaque directories hide what is below them); nil when it did not exist.
    public func previousMetadata(of path: String) -> FileMetadata? {
        let trees = lowers.reversed().compactMap { try? CacheMountTree($0) }
        guard let found = Snapshot.topmostLowerEntry(path, in: trees)?.metadata else { return nil }
        if found.kind == .characterDevice && found.rdev == 0 { return nil }  // whiteout
        return found
    }

    /// Unmounts and removes what the stack owns (never the lowers it was given).
    public func release() {
        if current != nil { try? Overlay.unmount(merged.path) }
        try? FileManager.default.removeItem(at: directory)
    }
}
