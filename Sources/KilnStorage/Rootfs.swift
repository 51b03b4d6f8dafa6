import Foundation
import KilnArchive

/// A writable root filesystem for one build step, on top of a cached chain directory.
///
/// Run the step in `path`, then read its `changes()` and hand them with `path` to the layer
/// writer, then `release()` (or use `SnapshotStore.withRootfs`, which always releases).
public struct Rootfs: Sendable {
    /// How a rootfs is made writable.
    public enum Mode: String, Sendable, Hashable, CustomStringConvertible {
        /// overlayfs: the chain directory is the read-only lower layer; writes go to an upper
        /// directory in the build's scratch space, and only that is walked for the diff.
        case overlay
        /// A full copy of the chain directory, snapshotted before the step and diffed after it.
        case copy

        public var description: String { rawValue }
    }

    /// Which mode this rootfs uses, for the build log.
    public let mode: Mode
    /// The writable root directory: where the step runs and where the layer writer reads.
    public let path: URL
    /// The build-owned directory holding everything of this rootfs; removed on release.
    let scratch: URL
    /// overlay mode: the upper directory.
    let upper: URL?
    /// overlay mode: the read-only lower directory.
    var lower: URL? = nil
    /// copy mode: the tree as it was before the step.
    let baseline: Snapshot?

    /// What the step changed, as sorted layer changes relative to `path`.
    public func changes() async throws -> [LayerChange] {
        switch mode {
        case .overlay:
            return try await Snapshot.overlayChanges(upper: upper!, lowers: lower.map { [$0] } ?? [])
        case .copy:
            return try await Snapshot.capture(path, baseline: baseline).changes(since: baseline!)
        }
    }

    /// Unmounts (overlay mode) and removes the scratch directory. Safe to call twice.
    public func release() throws {
        var firstError: (any Error)?
        if mode == .overlay {
            do { try Overlay.unmount(path.path) } catch { firstError = error }
        }
        do {
            if FileManager.default.fileExists(atPath: scratch.path) {
                try FileManager.default.removeItem(at: scratch)
            }
        } catch {
            firstError = firstError ?? error
        }
        if let firstError { throw firstError }
    }

    /// Makes a rootfs on top of `lower` inside a new directory below `scratchParent`.
    static func make(lower: URL, scratchParent: URL, allowOverlay: Bool, reserve: DiskReserve) async throws -> Rootfs {
        try createDirectory(scratchParent.path)
        let scratch = scratchParent.appendingPathComponent("rootfs-\(String(UInt64.random(in: .min ... .max), radix: 16))")
        try createDirectory(scratch.path, mode: 0o700)
        do {
            if allowOverlay, await Overlay.isAvailable(scratch: scratchParent) {
                let upper = scratch.appendingPathComponent("upper")
                let work = scratch.appendingPathComponent("work")
                let merged = scratch.appendingPathComponent("merged")
                for directory in [upper, work, merged] { try createDirectory(directory.path) }
                do {
                    try Overlay.mount(lower: lower.path, upper: upper.path, work: work.path, at: merged.path)
                    return Rootfs(mode: .overlay, path: merged, scratch: scratch, upper: upper, lower: lower, baseline: nil)
                } catch {
                    // Overlay works in general but not here (odd path, nested overlay): copy.
                    for directory in [upper, work, merged] { try? FileManager.default.removeItem(at: directory) }
                }
            }
            let copy = scratch.appendingPathComponent("rootfs")
            try await TreeCopier.copy(from: lower, to: copy, gate: reserve.gate(for: scratch, writing: "copying a rootfs"))
            let baseline = try await Snapshot.capture(copy)
            return Rootfs(mode: .copy, path: copy, scratch: scratch, upper: nil, baseline: baseline)
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }
}
