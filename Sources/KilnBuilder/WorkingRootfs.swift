import Foundation
import Glibc
import KilnArchive
import KilnCache
import KilnOCI
import KilnStorage

/// The one writable rootfs a stage keeps across consecutive cache misses: the layers below
/// are made ready once, and each step's layer holds only what that step changed.
///
/// On overlayfs (``OverlayStack``) the layer snapshots of the chain are stacked as lowers
/// (nothing unpacked that this machine already has, nothing copied) and each step gets its
/// own upper directory, which is its diff and, once its layer is written, the snapshot of that
/// layer (``SnapshotStore/keep(upper:as:)``), so later steps and later builds stack it too.
/// Where overlayfs cannot be mounted, the chain is copied once and each step's changes are
/// the difference between snapshots taken before and after it (a snapshot of an overlay's
/// merged view cannot be used for that: a copy-up changes inode numbers there, which reads as
/// a replaced directory).
struct WorkingRootfs: Sendable {
    private enum Storage: Sendable {
        case overlay(OverlayStack)
        case copy(Rootfs, before: Snapshot)
    }

    private var storage: Storage
    /// The chain ID of the layers below the next step (nil: none).
    private var chain: Digest?

    /// Where steps run.
    var path: URL {
        switch storage {
        case .overlay(let stack): return stack.merged
        case .copy(let rootfs, _): return rootfs.path
        }
    }

    /// Whether the next step needs a new working rootfs (an overlay stack as deep as a
    /// mount allows).
    var isFull: Bool {
        if case .overlay(let stack) = storage { return stack.isFull }
        return false
    }

    /// A writable rootfs holding `layers` (their blobs fetched when a layer must be unpacked),
    /// ready for a step.
    ///
    /// Chroot isolation takes a copy: it cannot mount, and it places the step's mounts into the
    /// rootfs itself, which on an overlay would copy up what it moves aside.
    static func open(_ layers: [StageLayer], for step: StepIdentity?, session: BuildSession) async throws -> WorkingRootfs {
        let chain = ChainID.of(layers.map(\.diffID))
        if await session.stacksLayerSnapshots() {
            do {
                var lowers = try await session.layerStack(layers, for: step)
                if lowers.isEmpty || lowers.count > OverlayStack.maximumLowers {
                    lowers = [try await session.unpacking(layers, for: step) { try await session.snapshots.materialize($0) }]
                }
                return WorkingRootfs(storage: .overlay(try OverlayStack.make(lowers: lowers, scratch: session.scratch)), chain: chain)
            } catch StorageError.overlayTooDeep {
                // Neither mount(2) nor this kernel's fsconfig takes so many lowers: one flattened chain.
                let flattened = try await session.unpacking(layers, for: step) { try await session.snapshots.materialize($0) }
                return WorkingRootfs(storage: .overlay(try OverlayStack.make(lowers: [flattened], scratch: session.scratch)), chain: chain)
            }
        }
        let rootfs = try await session.unpacking(layers, for: step) {
            try await session.snapshots.makeRootfs($0, scratch: session.scratch, allowOverlay: false)
        }
        do {
            return WorkingRootfs(storage: .copy(rootfs, before: try await Snapshot.capture(rootfs.path)), chain: chain)
        } catch {
            try? rootfs.release()
            throw error
        }
    }

    /// Makes the rootfs ready for the next step (an overlay mounts a fresh upper).
    mutating func beginStep() throws {
        if case .overlay(var stack) = storage {
            try stack.beginStep()
            storage = .overlay(stack)
        }
    }

    /// Turns what the step changed into a layer blob in the content store; nil when the step
    /// changed nothing. On overlayfs the step's upper becomes the layer's snapshot.
    mutating func commit(session: BuildSession) async throws -> CachedLayer? {
        switch storage {
        case .overlay(var stack):
            let layer = try await Self.write(try await stack.changes(), from: stack.merged, session: session)
            let upper = stack.endStep()
            storage = .overlay(stack)
            guard let upper else { return layer }
            guard let layer else {
                // Nothing a layer would hold: what the upper has, the lowers have too.
                try? FileManager.default.removeItem(at: upper)
                return nil
            }
            chain = StageRunner.chain(chain, adding: layer.diffID)
            stack.push(try await session.snapshots.keep(upper: upper, as: chain!))
            storage = .overlay(stack)
            return layer
        case .copy(let rootfs, let before):
            let after = try await Snapshot.capture(rootfs.path, baseline: before)
            storage = .copy(rootfs, before: after)
            let layer = try await Self.write(after.changes(since: before), from: rootfs.path, session: session)
            if let layer { chain = StageRunner.chain(chain, adding: layer.diffID) }
            return layer
        }
    }

    /// Writes `changes` (read from `root`) as a layer into the content store; nil when there are none.
    static func write(_ changes: [LayerChange], from root: URL, session: BuildSession) async throws -> CachedLayer? {
        if changes.isEmpty { return nil }
        // Written as the step left it: the SOURCE_DATE_EPOCH clamp is applied to the image's
        // layers when it is assembled (an output transform), so one cached layer serves builds
        // with and without it.
        let writer = LayerWriter(compression: session.layering.compression, sourceDateEpoch: nil)
        let written = try await session.store.ingestLayer(doing: "writing the step's layer") { file, gate in
            try writer.write(changes: changes, from: root, to: file, gate: gate)
        }
        let descriptor = Descriptor(mediaType: written.mediaType, digest: written.digest, size: written.size)
        return CachedLayer(descriptor: descriptor, diffID: written.diffID)
    }

    /// Puts back the mtime of the directories holding `createdPaths` (mount points the
    /// executor made and removed again), so a step that wrote nothing there has no layer.
    func restoreParentTimes(of createdPaths: [String]) {
        for path in createdPaths {
            let relative = String(path.drop { $0 == "/" })
            guard !FileManager.default.fileExists(atPath: self.path.appendingPathComponent(relative).path) else { continue }
            let parent = relative.lastIndex(of: "/").map { String(relative[..<$0]) } ?? ""
            // The root is no entry of a layer; its mtime does not matter.
            guard !parent.isEmpty, let time = previousModificationTime(of: parent) else { continue }
            var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */), time]
            _ = utimensat(AT_FDCWD, self.path.appendingPathComponent(parent).path, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    private func previousModificationTime(of relative: String) -> timespec? {
        switch storage {
        case .overlay(let stack):
            return stack.previousMetadata(of: relative).map { timespec(tv_sec: Int($0.mtime.seconds), tv_nsec: Int($0.mtime.nanoseconds)) }
        case .copy(_, let before):
            guard let time = before.entries[relative]?.mtime else { return nil }
            return timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
        }
    }

    /// Takes the entries at `paths` (container paths) as the step found them when only their
    /// ctime moved: the executor moved them aside and back around a chroot step (see
    /// ``ExecutionResult/movedEntries``). A rootfs on overlayfs never gets here: chroot
    /// isolation works on a copy.
    mutating func acceptMoves(of paths: [String]) {
        guard !paths.isEmpty, case .copy(let rootfs, let before) = storage else { return }
        storage = .copy(rootfs, before: before.acceptingMoves(of: paths.map { String($0.drop { $0 == "/" }) }))
    }

    /// Unmounts and removes the rootfs.
    func release() {
        switch storage {
        case .overlay(let stack): stack.release()
        case .copy(let rootfs, _): try? rootfs.release()
        }
    }
}
