import Foundation
import Glibc
import KilnArchive
import KilnOCI

/// Applies one layer blob (a tar, compressed or not) onto a directory and returns the digest of
/// the uncompressed tar it read (the layer's diffID).
public typealias LayerUnpacker = @Sendable (_ blob: URL, _ directory: URL) async throws -> Digest

/// Unpacked layer chains under `$KILN_ROOT/snapshots/<chainID hex>` (whole trees, for roots
/// that cannot be overlays), layer snapshots under `snapshots/layers/` (see
/// `SnapshotStore+Layers.swift`), and writable rootfs directories on top of them.
///
/// A chain directory is built once: on a copy of the longest parent chain already unpacked
/// (else from empty), in a temp directory beside the final one, then renamed into place. A
/// per-chain `flock` makes concurrent builders (threads or processes) wait for the one doing
/// the work instead of repeating it. Chain directories are read-only by convention: rootfs
/// writes go to an overlay upper directory or to a copy.
public struct SnapshotStore: Sendable {
    /// The `snapshots/` directory.
    public let directory: URL
    /// What copies and unpacking leave free on the disk (the root's reserve).
    public let reserve: DiskReserve
    let unpack: LayerUnpacker
    /// How many layers this store value (one per build) has unpacked.
    public let unpacked = UnpackTally()

    /// The snapshot store of `root`, applying layers with `unpack`.
    public init(root: KilnRoot, unpack: @escaping LayerUnpacker) {
        self.directory = root.snapshots
        self.reserve = root.reserve
        self.unpack = unpack
    }

    /// The snapshot store of `root`, applying layers with KilnArchive's `LayerApplier` and
    /// refusing a layer whose uncompressed content does not hash to its diffID. A blob of
    /// `root`'s content store is held to the store's rule while it is applied (a corrupt one is
    /// named and quarantined, and the chain directory never renamed into place). Unpacking stops
    /// at the root's ``DiskReserve`` and, within an entry or a chunk, when the task is cancelled.
    public init(root: KilnRoot) {
        let store = ContentStore(root: root)
        let reserve = root.reserve
        let snapshots = root.snapshots
        self.init(root: root) { blob, directory in
            // Blobs are stored under their digest's hex, which is what the error should name;
            // the filesystem is measured (and named) at snapshots/, which holds the temp directory.
            let gate = reserve.gate(for: snapshots, writing: "unpacking layer sha256:\(blob.lastPathComponent)")
            return try await onOwnThread(closing: gate) {
                guard let digest = store.digest(ofBlobAt: blob) else {
                    return try LayerApplier().apply(layer: blob, to: directory, gate: gate).diffID
                }
                return try store.applyLayer(digest, to: directory, gate: gate, usedBy: "a layer being unpacked").diffID
            }
        }
    }

    /// Where the chain directory for `chainID` lives (whether or not it exists).
    public func path(for chainID: Digest) -> URL {
        directory.appendingPathComponent(chainID.encoded, isDirectory: true)
    }

    /// The directory holding `layers` unpacked in order, building it if needed. No layers
    /// gives an empty directory.
    public func materialize(_ layers: [LayerReference]) async throws -> URL {
        try createDirectory(directory.path)
        let chainIDs = ChainID.chain(layers.map(\.diffID))
        guard let chainID = chainIDs.last else {
            let empty = directory.appendingPathComponent("empty")
            try createDirectory(empty.path)
            return empty
        }
        let target = path(for: chainID)
        if isUsable(target) {
            _ = utimes(target.path, nil)  // its last use, for eviction
            return target
        }
        return try await withFileLock(path: directory.path + "/\(chainID.encoded).lock", exclusive: true) {
            // Another builder may have finished it while this one waited for the lock.
            if isUsable(target) { return target }
            let parentIndex = chainIDs.dropLast().lastIndex { isUsable(path(for: $0)) }
            let temp = directory.appendingPathComponent(".tmp-\(chainID.encoded)-\(String(UInt64.random(in: .min ... .max), radix: 16))")
            do {
                if let parentIndex {
                    try await TreeCopier.copy(from: path(for: chainIDs[parentIndex]), to: temp,
                                              gate: reserve.gate(for: directory, writing: "copying snapshot \(chainIDs[parentIndex])"))
                } else {
                    try createDirectory(temp.path)
                }
                for layer in layers[((parentIndex ?? -1) + 1)...] {
                    try Task.checkCancellation()
                    try await unpackVerified(layer, into: temp)
                }
                try publish(temp, as: target)
                return target
            } catch {
                try? FileManager.default.removeItem(at: temp)
                throw error
            }
        }
    }

    /// Applies `layer` onto `directory` (a plain one or an overlay's merged view) and counts it;
    /// a layer whose uncompressed content does not hash to its diffID is refused.
    func unpackVerified(_ layer: LayerReference, into directory: URL) async throws {
        let diffID = try await unpack(layer.blob, directory)
        guard diffID == layer.diffID else {
            throw StorageError.diffIDMismatch(layer: layer.blob.path, expected: layer.diffID, actual: diffID)
        }
        unpacked.add()
    }

    /// Renames the finished snapshot `temp` into place at `target` (its chain lock held), as
    /// ``SnapshotDurability`` decides: marked as made in this boot, not synced on the build's path.
    func publish(_ temp: URL, as target: URL) throws {
        try SnapshotDurability.publish(temp, as: target)
    }

    /// A writable rootfs on top of `layers`, in a new directory below `scratch` (the build's
    /// tmp). overlayfs when this process may mount and `allowOverlay` is set, a full copy
    /// otherwise; `Rootfs.mode` says which.
    public func makeRootfs(_ layers: [LayerReference], scratch: URL, allowOverlay: Bool = true) async throws -> Rootfs {
        let lower = try await materialize(layers)
        return try await Rootfs.make(lower: lower, scratchParent: scratch, allowOverlay: allowOverlay, reserve: reserve)
    }

    /// Runs `body` with a writable rootfs on top of `layers` and releases it afterwards, also
    /// when `body` throws or is cancelled.
    public func withRootfs<T: Sendable>(
        _ layers: [LayerReference], scratch: URL, allowOverlay: Bool = true,
        _ body: (Rootfs) async throws -> T
    ) async throws -> T {
        let rootfs = try await makeRootfs(layers, scratch: scratch, allowOverlay: allowOverlay)
        let result: T
        do {
            result = try await body(rootfs)
        } catch {
            try? rootfs.release()
            throw error
        }
        try rootfs.release()
        return result
    }

    /// Removes every chain directory except those of `keep`, and temp directories that crashed
    /// builds left behind. Returns the chain IDs removed.
    @discardableResult
    public func prune(keeping keep: Set<Digest>) throws -> [Digest] {
        let kept = Set(keep.map(\.encoded))
        var removed: [Digest] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            if name.hasSuffix(".lock") || name == "empty" || kept.contains(name) { continue }
            if name.hasPrefix(".tmp-") {
                // `.tmp-<chainID>-<random>`: once the chain lock is free, no builder owns it.
                let chain = name.dropFirst(5).prefix(64)
                try withFileLock(path: directory.path + "/\(chain).lock", exclusive: true) {
                    try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
                }
                continue
            }
            guard let chainID = Digest("sha256:\(name)") else { continue }
            try withFileLock(path: directory.path + "/\(name).lock", exclusive: true) {
                try Self.discard(path(for: chainID))
            }
            removed.append(chainID)
        }
        return removed.sorted()
    }

    /// What a build's start clears from both snapshot directories, each listed once:
    /// - the temp chain directories (`.tmp-<chainID>-<random>`) of builders that died while
    ///   unpacking (SIGKILL, a crash): the builder filling one holds its chain's lock, so a lock
    ///   that can be taken at once marks one nobody owns. Mounts below it are detached first.
    ///   Live builders' directories are skipped, never waited for;
    /// - the snapshots an earlier boot left unsynced, and this boot's old ones promoted
    ///   (``SnapshotDurability/sweep(_:markers:promotingOlderThan:)``).
    func sweep(promotingOlderThan age: TimeInterval = SnapshotDurability.promotionAge) {
        for parent in [directory, layerSnapshots] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
            for name in names where name.hasPrefix(".tmp-") {
                let chain = name.dropFirst(5).prefix(64)
                guard let held = FileLock(tryingPath: parent.path + "/\(chain).lock") else { continue }
                defer { held.unlock() }
                let path = parent.appendingPathComponent(name)
                MountTable.detachAll(under: path.path)
                try? FileManager.default.removeItem(at: path)
            }
            SnapshotDurability.sweep(parent, markers: names.filter { $0.hasSuffix(".boot") }, promotingOlderThan: age)
        }
    }
}

/// Flushes the filesystem holding `path`, so that a chain directory renamed into place is on
/// disk as a whole (one `syncfs` instead of an fsync per file).
func flushFilesystem(of path: String) throws(StorageError) {
    let fd = try posix("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(fd) }
    try posix("syncfs", path) { LinuxCalls.syncfs(fd) }
}
