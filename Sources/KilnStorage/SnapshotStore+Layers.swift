import Foundation
import Glibc
import KilnArchive
import KilnOCI
import Synchronization

/// How many layers one build unpacked (a build right after the build that made its layers
/// should unpack none).
public final class UnpackTally: Sendable {
    private let count = Atomic<Int>(0)

    /// A tally at zero.
    public init() {}

    /// Layers unpacked so far.
    public var value: Int { count.load(ordering: .relaxed) }

    func add() { count.wrappingAdd(1, ordering: .relaxed) }
}

/// Layer snapshots: `snapshots/layers/<chainID hex>` holds one layer's changes in overlayfs'
/// own form (a whiteout is a 0/0 character device, an emptied directory is marked opaque), so a
/// root filesystem of any chain is an overlay of the snapshots of its layers, stacked, and
/// nothing is ever copied. A snapshot comes either from unpacking the layer's blob onto an
/// overlay of the snapshots below it, or from a step's own upper directory once its layer is
/// written (``keep(upper:as:)``): what a build ran, the next build reuses with no unpacking.
///
/// A snapshot is named by its chain ID, which fixes the layers below it, so it is only ever
/// stacked on the snapshots it was made on. Snapshots are immutable once renamed into place;
/// their mtime is their last use, which `kiln cache prune` goes by.
extension SnapshotStore {
    /// The `snapshots/layers/` directory.
    public var layerSnapshots: URL { directory.appendingPathComponent("layers", isDirectory: true) }

    /// Where the snapshot of the layer whose chain ID is `chainID` lives (whether or not it exists).
    public func layerSnapshotPath(for chainID: Digest) -> URL {
        layerSnapshots.appendingPathComponent(chainID.encoded, isDirectory: true)
    }

    /// The positions in `layers` whose snapshot does not exist yet: the blobs a stack of them needs.
    public func missingLayerSnapshots(_ layers: [LayerReference]) -> [Int] {
        ChainID.chain(layers.map(\.diffID)).enumerated().compactMap { index, chainID in
            isUsable(layerSnapshotPath(for: chainID)) ? nil : index
        }
    }

    /// The snapshots of `layers`, bottom first, unpacking each missing one (its blob must be
    /// in the content store) onto an overlay of those below it. Each is marked used.
    public func layerStack(_ layers: [LayerReference]) async throws -> [URL] {
        try createDirectory(layerSnapshots.path)
        var stack: [URL] = []
        for (layer, chainID) in zip(layers, ChainID.chain(layers.map(\.diffID))) {
            try Task.checkCancellation()
            let target = layerSnapshotPath(for: chainID)
            if !isUsable(target) {
                try await unpackSnapshot(of: layer, as: chainID, onto: stack)
            }
            _ = utimes(target.path, nil)
            stack.append(target)
        }
        return stack
    }

    /// Keeps `upper`, the overlay upper directory of a step whose layer has chain ID `chainID`
    /// (unmounted, its layer written), as that layer's snapshot. First it is made what
    /// unpacking the layer gives (``LayerSnapshotConformance``), so a later step on this
    /// machine sees exactly what it sees on a machine that fetched the layer. Returns where the
    /// snapshot is: another build's, when one got there first (then `upper` is removed), or
    /// `upper` itself where it cannot be moved into the store (another filesystem).
    public func keep(upper: URL, as chainID: Digest) async throws -> URL {
        try createDirectory(layerSnapshots.path)
        let target = layerSnapshotPath(for: chainID)
        if isUsable(target) {
            try? FileManager.default.removeItem(at: upper)
            return target
        }
        let captured = try await LayerSnapshotConformance.conform(upper)
        return try await withFileLock(path: layerSnapshots.path + "/\(chainID.encoded).lock", exclusive: true) {
            if isUsable(target) {
                try? FileManager.default.removeItem(at: upper)
                return target
            }
            do {
                try publish(upper, as: target)
            } catch StorageError.system(operation: "rename", path: _, errno: EXDEV) {
                return upper
            }
            Self.recordSize(of: captured, for: target)
            return target
        }
    }

    /// A read-only view of `stack` (bottom first) mounted below `scratch`, or the one snapshot
    /// itself; the caller's scratch removal unmounts it.
    public func readOnlyView(of stack: [URL], scratch: URL) throws -> URL {
        guard stack.count > 1 else {
            if let only = stack.first { return only }
            let empty = directory.appendingPathComponent("empty")
            try createDirectory(empty.path)
            return empty
        }
        let target = scratch.appendingPathComponent("view-\(String(UInt64.random(in: .min ... .max), radix: 16))")
        try createDirectory(target.path, mode: 0o700)
        do {
            try Overlay.mount(lowers: stack.reversed().map(\.path), upper: nil, work: nil, at: target.path)
        } catch {
            try? FileManager.default.removeItem(at: target)
            throw error
        }
        return target
    }

    /// Whether roots made here may be overlays of layer snapshots: this process can mount
    /// overlayfs (tried once, in `scratch`).
    public func canStack(scratch: URL) async -> Bool {
        try? createDirectory(scratch.path)
        return await Overlay.isAvailable(scratch: scratch)
    }

    /// Unpacks `layer` into a new snapshot named `chainID`: straight into a directory at the
    /// bottom, else through an overlay of `lowers` whose upper becomes the snapshot, so
    /// deletions become whiteouts and hard links may name files below. Built in a temp directory
    /// beside the final one under the chain's lock, renamed into place only once its diffID matched.
    private func unpackSnapshot(of layer: LayerReference, as chainID: Digest, onto lowers: [URL]) async throws {
        let target = layerSnapshotPath(for: chainID)
        try await withFileLock(path: layerSnapshots.path + "/\(chainID.encoded).lock", exclusive: true) {
            if isUsable(target) { return }
            let temp = layerSnapshots.appendingPathComponent(
                ".tmp-\(chainID.encoded)-\(String(UInt64.random(in: .min ... .max), radix: 16))")
            let upper = temp.appendingPathComponent("fs")
            do {
                try createDirectory(temp.path, mode: 0o700)
                try createDirectory(upper.path)
                if lowers.isEmpty {
                    try await unpackVerified(layer, into: upper)
                } else {
                    let work = temp.appendingPathComponent("work"), merged = temp.appendingPathComponent("m")
                    for path in [work, merged] { try createDirectory(path.path) }
                    try Overlay.mount(lowers: lowers.reversed().map(\.path), upper: upper.path, work: work.path, at: merged.path)
                    do {
                        try await unpackVerified(layer, into: merged)
                    } catch {
                        try? Overlay.unmount(merged.path)
                        throw error
                    }
                    try Overlay.unmount(merged.path)
                }
                // Measured now, while its inodes are cached: the budget never walks it later.
                let captured = try await Snapshot.capture(upper)
                try publish(upper, as: target)
                Self.recordSize(of: captured, for: target)
                try? FileManager.default.removeItem(at: temp)
            } catch {
                MountTable.detachAll(under: temp.path)
                try? FileManager.default.removeItem(at: temp)
                throw error
            }
        }
    }

    /// Whether the snapshot `url` exists and may be used (``SnapshotDurability``).
    func isUsable(_ url: URL) -> Bool {
        SnapshotDurability.isUsable(url)
    }
}
