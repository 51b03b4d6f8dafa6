import Foundation
import KilnCache
import KilnDistribution
import KilnExecutor
import KilnOCI
import KilnStorage

/// What every stage of one build shares: the request, Kiln's root and its stores, the
/// build's scratch directory, the resolved base images and the event sink.
struct BuildSession: Sendable {
    let request: BuildRequest
    let store: ContentStore
    let snapshots: SnapshotStore
    let cache: any CacheBackend
    /// `$KILN_ROOT/tmp/build-…`, removed when the build ends, whatever the outcome.
    let scratch: URL
    let events: BuildEventSink
    /// `$KILN_ROOT/cache-mounts`: the directories of `RUN --mount=type=cache`, kept across builds.
    let cacheMounts: URL
    /// Base images by the word `FROM`/`COPY --from` wrote.
    let bases: [String: BaseImage]
    let board: StageBoard
    let runtime: RuntimeProvider
    let fileOperations: (any FileOperationPlanner)?
    /// `created` of the image and its history entries.
    let created: String
    /// The Dockerfile's lines, for errors found while building.
    let sourceLines: [String]

    /// Makes sure the blobs of `layers` are in the content store, fetching base layers from
    /// their source (several at once per image).
    func ensureBlobs(_ layers: [StageLayer], for step: StepIdentity?) async throws {
        var missing: [Digest: (BaseImage, [Descriptor])] = [:]
        for layer in layers where store.size(of: layer.descriptor.digest) != layer.descriptor.size {
            guard let origin = layer.origin else { throw CacheError.missingBlob(layer.descriptor.digest) }
            missing[origin.resolved.manifestDigest, default: (origin, [])].1.append(layer.descriptor)
        }
        let events = events
        for (origin, blobs) in missing.values {
            try await origin.source.fetch(blobs, of: origin.resolved, into: store) { progress in
                events(.transfer(step, progress))
            }
        }
    }

    /// A read-only directory holding `layers` (a cached chain directory), for `COPY --from`
    /// and bind mounts from a stage or image.
    func directory(of layers: [StageLayer], for step: StepIdentity?) async throws -> URL {
        try await ensureBlobs(layers, for: step)
        return try await snapshots.materialize(layers.map {
            LayerReference(blob: store.path(for: $0.descriptor.digest), diffID: $0.diffID)
        })
    }
}

/// Finds the OCI runtime once per build, and only when a RUN step actually runs.
actor RuntimeProvider {
    private let choice: RuntimeChoice
    private var found: OCIRuntime?

    init(choice: RuntimeChoice) {
        self.choice = choice
    }

    /// The runtime; the error names the Debian packages when none is installed.
    func runtime() async throws -> OCIRuntime {
        if let found { return found }
        do {
            let runtime = try await RuntimeDetector.shared.runtime(for: choice)
            found = runtime
            return runtime
        } catch ExecutorError.noRuntimeInstalled(let searched) {
            throw BuildError.invalidOption(
                "RUN needs an OCI runtime and neither runc nor crun was found (searched \(searched.joined(separator: ":"))); "
                    + "install one: apt-get install runc (or crun)")
        }
    }
}
