import Foundation
import KilnCache
import KilnDistribution
import KilnExecutor
import KilnFileOps
import KilnImage
import KilnOCI
import KilnStorage

/// What every stage of one build shares: Kiln's root and its stores, the build's scratch
/// directory, the resolved base images, the event sink, and of the request only the few values
/// steps read (``RunGrants``, ``CacheUse``, ``BuildSource``, ``LayerPolicy``); the request
/// itself (outputs, tags, labels, build arguments, the checks before the build) stays with
/// ``Builder``.
struct BuildSession: Sendable {
    /// What RUN steps may use.
    let grants: RunGrants
    /// How steps use the cache.
    let cacheUse: CacheUse
    /// The Dockerfile (its lines, for errors found while building) and the contexts.
    let source: BuildSource
    /// How layers are made and assembled.
    let layering: LayerPolicy
    let store: ContentStore
    let snapshots: SnapshotStore
    let cache: BuildCache
    /// `$KILN_ROOT/tmp/build-…`, removed when the build ends, whatever the outcome.
    let scratch: URL
    let events: BuildEventSink
    /// The directories of `RUN --mount=type=cache` (`$KILN_ROOT/cache-mounts`, kept across
    /// builds) and the registry caches they follow.
    let cacheMounts: CacheMountSync
    /// Base images by the word `FROM`/`COPY --from` wrote.
    let bases: [BaseImageKey: BaseImage]
    let board: StageBoard
    /// Each stage's planned outcome (final config and key, no layers), published before it
    /// executes anything, so dependants compute and look up their keys at once (look-ahead).
    let plans: StageBoard
    let runtime: RuntimeProvider
    /// `$KILN_ROOT/runtime`: the OCI runtime's state directory (`--root`) for this root's builds.
    let runtimeState: URL
    let fileOperations: (any FileOperationPlanner)?
    /// `created` of the image and its history entries.
    let created: String
    /// The layers pushed while the build runs (`--push`), if any: ``pushEarly(_:of:)``.
    var earlyPush: EarlyLayerPush? = nil

    /// Makes sure the blobs of `layers` are in the content store: base layers from their
    /// source (several at once per image), cache hits from the backend that answered, all
    /// sources at once.
    func ensureBlobs(_ layers: [StageLayer], for step: StepIdentity?) async throws {
        var fromBases: [Digest: (BaseImage, [Descriptor])] = [:]
        var fromCache: [CacheHit] = []
        for layer in layers where store.size(of: layer.descriptor.digest) != layer.descriptor.size {
            switch layer.origin {
            case .base(let origin)?:
                fromBases[origin.resolved.manifestDigest, default: (origin, [])].1.append(layer.descriptor)
            case .cache(let hit)?:
                fromCache.append(hit)
            case nil:
                throw CacheError.missingBlob(layer.descriptor.digest)
            }
        }
        let events = events
        let store = store
        let cache = cache
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (origin, blobs) in fromBases.values {
                group.addTask {
                    try await origin.source.fetch(blobs, of: origin.resolved, into: store) { progress in
                        events(.transfer(step, progress))
                    }
                }
            }
            for hit in fromCache {
                group.addTask { try await cache.fetchLayer(of: hit, into: store) }
            }
            try await group.waitForAll()
        }
    }

    /// The layers of an output image: a `FileLayer` for a blob in the content store, a
    /// ``DeferredLayer`` for one still elsewhere (a push may mount it; a layout fetches it).
    func imageLayers(_ layers: [StageLayer]) throws -> [any Layer] {
        try layers.enumerated().map { index, layer in
            let usedBy = layer.usage(at: index, of: "the image being exported")
            if layer.origin == nil || store.size(of: layer.descriptor.digest) == layer.descriptor.size {
                return try StoredLayer(store: store, descriptor: layer.descriptor, diffID: layer.diffID, usedBy: usedBy)
            }
            let session = self
            return DeferredLayer(descriptor: layer.descriptor, diffID: layer.diffID) {
                try await session.ensureBlobs([layer], for: nil)
                return try StoredLayer(store: session.store, descriptor: layer.descriptor, diffID: layer.diffID, usedBy: usedBy)
            }
        }
    }

    /// A read-only directory holding `layers`, for `COPY --from` and bind mounts from a stage
    /// or image: a read-only overlay of their layer snapshots (a step reads just the files it
    /// needs, and nothing this machine has is unpacked again), else a flattened chain directory.
    func directory(of layers: [StageLayer], for step: StepIdentity?) async throws -> URL {
        if await stacksLayerSnapshots() {
            do {
                let stack = try await layerStack(layers, for: step)
                if stack.count <= OverlayStack.maximumLowers { return try snapshots.readOnlyView(of: stack, scratch: scratch) }
            } catch StorageError.overlayTooDeep {}
        }
        return try await unpacking(layers, for: step) { references in try await snapshots.materialize(references) }
    }

    /// Whether roots and stage directories are overlays of layer snapshots. The one place that
    /// decides it: chroot isolation (no mounts) and `KILN_ROOTFS=copy` take copies, and so
    /// does a process that cannot mount overlayfs.
    func stacksLayerSnapshots() async -> Bool {
        guard ProcessInfo.processInfo.environment["KILN_ROOTFS"] != "copy", grants.isolation.allowsOverlayRootfs else { return false }
        return await snapshots.canStack(scratch: scratch)
    }

    /// The layer snapshots of `layers`, bottom first. Only the layers this machine has no
    /// snapshot of are fetched and unpacked.
    func layerStack(_ layers: [StageLayer], for step: StepIdentity?) async throws -> [URL] {
        let missing = snapshots.missingLayerSnapshots(references(layers))
        return try await unpacking(layers, fetching: missing.map { layers[$0] }, for: step) { try await snapshots.layerStack($0) }
    }

    /// `layers` as the snapshot store names them: their blobs in the content store, and diffIDs.
    func references(_ layers: [StageLayer]) -> [LayerReference] {
        layers.map { LayerReference(blob: store.path(for: $0.descriptor.digest), diffID: $0.diffID) }
    }

    /// Runs `body` (which unpacks `layers`) once the blobs of `fetching` (default: all of
    /// `layers`) are in the store. A blob found corrupt on the way is quarantined by the store;
    /// when it can be fetched again (a base layer, a remote cache hit) it is, and `body` runs
    /// once more; otherwise the error names the layer, and the next build rebuilds it (its
    /// cache entry misses without its blob).
    func unpacking<T>(_ layers: [StageLayer], fetching: [StageLayer]? = nil, for step: StepIdentity?,
                      _ body: ([LayerReference]) async throws -> T) async throws -> T {
        let references = references(layers)
        try await ensureBlobs(fetching ?? layers, for: step)
        do {
            return try await body(references)
        } catch let error as StorageError {
            guard case .corruptBlob(let digest, let actual, let expectedSize, let actualSize, _, let quarantinedAs) = error,
                  let index = layers.firstIndex(where: { $0.descriptor.digest == digest })
            else { throw error }
            let layer = layers[index]
            let usedBy = layer.usage(at: index, of: step.map { "the filesystem of step #\($0.number) \($0.text)" } ?? "a filesystem being unpacked")
            guard layer.origin != nil else {
                throw StorageError.corruptBlob(digest: digest, actual: actual, expectedSize: expectedSize, actualSize: actualSize,
                                               usedBy: usedBy, quarantinedAs: quarantinedAs)
            }
            events(.info("content store blob \(digest) (\(usedBy)) was corrupt; moved to \(quarantinedAs ?? "quarantine"), fetching it again"))
            try await ensureBlobs(fetching ?? layers, for: step)
            return try await body(references)
        }
    }
}

/// Finds the OCI runtime once per build, and only when a RUN step actually runs.
actor RuntimeProvider {
    private let choice: RuntimeChoice
    private let ownership: BuildOwnership?
    private var found: OCIRuntime?

    /// `ownership` learns the runtime before any container exists, so a reclaimer can find them.
    init(choice: RuntimeChoice, ownership: BuildOwnership? = nil) {
        self.choice = choice
        self.ownership = ownership
    }

    /// The runtime; the error names the Debian packages when none is installed.
    func runtime() async throws -> OCIRuntime {
        if let found { return found }
        do {
            let runtime = try await RuntimeDetector.shared.runtime(for: choice)
            try ownership?.noteRuntime(runtime.executable)
            found = runtime
            return runtime
        } catch ExecutorError.noRuntimeInstalled(let searched) {
            throw BuildError.invalidOption(
                "RUN needs an OCI runtime and neither runc nor crun was found (searched \(searched.joined(separator: ":"))); "
                    + "install one: apt-get install runc (or crun)")
        }
    }
}
