import Foundation
import Glibc
import KilnArchive

/// Of the root filesystem a chain of layers makes, only what a step that writes a few paths
/// consults, in a plain directory made by reading the layers' blobs: the tree's shape (every
/// directory and symbolic link, so any path resolves as in the whole tree) and the other
/// entries at chosen paths (``LayerEntrySelection``). A COPY on a machine without the chain's
/// snapshots needs this, not the whole tree.
///
/// Its state at a path is the whole root's wherever ``covers(_:)`` says so, so a step run on
/// it is the step run on the whole root when everything the step wrote is covered and every
/// file it read was chosen. The caller checks the first, and asks again (``widened(by:)``)
/// with the paths that were not.
public struct PartialRoot: Sendable {
    /// The directory, below the scratch directory it was made in; removed by ``release()``.
    public let directory: URL
    /// Relative paths whose entries were all applied.
    public let known: Set<String>
    /// Relative paths of entries that were left out.
    public let skipped: Set<String>
    private let layers: [LayerReference]
    private let store: ContentStore
    private let scratch: URL

    /// Rounds of widening (a selected hard link's target) before giving up.
    static let maximumRounds = 4

    /// Whether `path` (relative) has here the state it has in the whole root.
    public func covers(_ path: String) -> Bool {
        path.isEmpty || known.contains(path) || !skipped.contains(path)
    }

    /// The root of `layers` (bottom first, each blob verified against its diffID while read)
    /// with the entries at `paths` (relative) and at their ancestors chosen. Nil when a hard
    /// link's target kept being left out (the caller uses the whole root).
    public static func make(_ layers: [LayerReference], consulting paths: Set<String>, store: ContentStore,
                            scratch: URL) async throws -> PartialRoot? {
        var wanted = paths
        for _ in 0..<maximumRounds {
            let known = LayerEntrySelection.closed(wanted)
            let directory = scratch.appendingPathComponent("partial-\(String(UInt64.random(in: .min ... .max), radix: 36))")
            do {
                try createDirectory(directory.path, mode: 0o755)
                let selection = LayerEntrySelection(paths: known)
                for layer in layers {
                    try Task.checkCancellation()
                    try await apply(layer, selection: selection, to: directory, store: store)
                }
                let missing = selection.missingLinkTargets.subtracting(known)
                if missing.isEmpty {
                    return PartialRoot(directory: directory, known: known, skipped: selection.skippedPaths,
                                       layers: layers, store: store, scratch: scratch)
                }
                wanted.formUnion(missing)
                try? FileManager.default.removeItem(at: directory)
            } catch {
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
        }
        return nil
    }

    /// The paths, of `paths` and where they lead through the symbolic links here, whose entry
    /// was left out: what a step reading `paths` needs chosen as well.
    public func notCovered(resolving paths: some Sequence<String>) -> Set<String> {
        let contained = try? ContainedRoot(path: directory.path)
        var found = Set<String>()
        for path in paths {
            for reached in [path, resolved(path, in: contained)] where !covers(reached) { found.insert(reached) }
        }
        return found
    }

    /// The same root with `paths` chosen as well (read from the blobs again); nil as ``make``.
    public func widened(by paths: some Sequence<String>) async throws -> PartialRoot? {
        try await Self.make(layers, consulting: known.union(paths), store: store, scratch: scratch)
    }

    /// Removes the directory.
    public func release() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func apply(_ layer: LayerReference, selection: LayerEntrySelection, to directory: URL,
                              store: ContentStore) async throws {
        let gate = store.reserve.gate(for: directory, writing: "reading layer sha256:\(layer.blob.lastPathComponent)")
        let applier = LayerApplier(selection: selection)
        let diffID = try await onOwnThread(closing: gate) {
            guard let digest = store.digest(ofBlobAt: layer.blob) else {
                return try applier.apply(layer: layer.blob, to: directory, gate: gate).diffID
            }
            return try store.applyLayer(digest, to: directory, with: applier, gate: gate, usedBy: "a layer being read").diffID
        }
        guard diffID == layer.diffID else {
            throw StorageError.diffIDMismatch(layer: layer.blob.path, expected: layer.diffID, actual: diffID)
        }
    }

    /// `path` with every symbolic link on the way followed inside this directory, as a chroot
    /// would (``ContainedRoot``); `path` itself where it cannot be resolved (a loop, a file
    /// where a directory should be: the step then fails here and is done on the whole root).
    func resolved(_ path: String, in contained: ContainedRoot? = nil) -> String {
        guard let contained = contained ?? (try? ContainedRoot(path: directory.path)),
              let components = try? contained.resolve(path, followFinal: true)
        else { return path }
        return components.joined(separator: "/")
    }
}
