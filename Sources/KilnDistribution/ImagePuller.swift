import Foundation
import KilnArchive
import KilnConcurrency
import KilnImage
import KilnOCI
import KilnStorage

/// Pulls one platform of an image out of a registry into something on disk: an OCI image
/// layout, or a root filesystem with every layer applied. Either appears whole or not at all:
/// the work happens in a hidden directory beside the destination that is renamed at the end
/// and removed on failure.
public struct ImagePuller: Sendable {
    /// Where images come from (mirrors included).
    public let source: RegistryImageSource

    /// A puller reading through `source`.
    public init(source: RegistryImageSource) {
        self.source = source
    }

    /// Writes `reference`'s image for `platform` into the OCI layout `destination` under
    /// `refName`: blobs download straight into the layout, verified. A layout that already
    /// exists gets the image added. Returns the resolved image.
    @discardableResult
    public func pullLayout(_ reference: Reference, platform: Platform, to destination: URL, refName: String?,
                           progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> ResolvedImage {
        let image = try await source.resolve(reference, platform: platform)
        let staging = try Self.stagingDirectory(for: destination)
        do {
            let store = ContentStore(root: KilnRoot(url: staging))
            try await source.fetch(image.manifest.layers, of: image, into: store, progress: progress)
            try await store.ingest(data: image.rawConfig, expected: image.manifest.config.digest)
            try await store.ingest(data: image.rawManifest, expected: image.manifestDigest)
            try? FileManager.default.removeItem(at: store.directory.appendingPathComponent("ingest"))
            try? FileManager.default.removeItem(at: store.directory.appendingPathComponent(".lock"))
            var entry = Descriptor(mediaType: image.manifest.mediaType ?? .ociManifest, digest: image.manifestDigest,
                                   size: Int64(image.rawManifest.count))
            if let refName { entry.annotations[AnnotationKey.refName] = refName }
            try CanonicalJSON.encode(ImageLayout()).write(to: staging.appendingPathComponent(ImageLayout.fileName))
            try CanonicalJSON.encode(Index(manifests: [entry]))
                .write(to: staging.appendingPathComponent(ImageLayout.indexFileName))
            if try Self.isAbsentOrEmpty(destination) {
                try Self.replace(destination, with: staging)
            } else {
                let pulled = try OCILayout(at: staging).image(descriptor: entry)
                _ = try await onOwnThread { try OCILayoutWriter().write(pulled, to: destination, refName: refName) }
                try? FileManager.default.removeItem(at: staging)
            }
            return image
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
    }

    /// Makes `destination` the root filesystem of `reference`'s image for `platform`: layers
    /// download into `store` several at once while each is applied, in order, as soon as it and
    /// every layer below it are there (whiteouts honoured). Returns the resolved image.
    @discardableResult
    public func pullRootfs(_ reference: Reference, platform: Platform, to destination: URL, store: ContentStore,
                           applier: LayerApplier = LayerApplier(),
                           progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> ResolvedImage {
        guard try Self.isAbsentOrEmpty(destination) else {
            throw DistributionError.destinationNotEmpty(path: destination.path)
        }
        let image = try await source.resolve(reference, platform: platform)
        let layers = image.manifest.layers
        let staging = try Self.stagingDirectory(for: destination)
        do {
            let (arrivals, arrived) = AsyncStream.makeStream(of: Digest.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { arrived.finish() }
                    try await forEachConcurrently(layers, limit: source.pool.options.maximumConcurrentTransfers) { layer in
                        try await source.fetchBlob(layer, of: reference, into: store, progress: progress)
                        arrived.yield(layer.digest)
                    }
                }
                var present: Set<Digest> = []
                var next = 0
                for await digest in arrivals {
                    present.insert(digest)
                    while next < layers.count, present.contains(layers[next].digest) {
                        let digest = layers[next].digest
                        let usedBy = "layer \(next + 1) of \(reference)"
                        // The store's reserve bounds the unpacked bytes too; cancelling stops
                        // the layer within an entry or a chunk.
                        let gate = store.reserve.gate(for: staging, writing: "unpacking layer \(digest)")
                        _ = try await onOwnThread(closing: gate) {
                            try store.applyLayer(digest, to: staging, with: applier, gate: gate, usedBy: usedBy)
                        }
                        next += 1
                    }
                }
                try await group.waitForAll()
                guard next == layers.count else { throw CancellationError() }
            }
            try Self.replace(destination, with: staging)
            return image
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
    }

    private static func stagingDirectory(for destination: URL) throws -> URL {
        let parent = destination.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(destination.lastPathComponent).kiln-pull-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        return staging
    }

    private static func isAbsentOrEmpty(_ url: URL) throws -> Bool {
        guard FileManager.default.fileExists(atPath: url.path) else { return true }
        return try FileManager.default.contentsOfDirectory(atPath: url.path).isEmpty
    }

    /// Renames `staging` to `destination`, which is absent or an empty directory.
    private static func replace(_ destination: URL, with staging: URL) throws {
        if FileManager.default.fileExists(atPath: destination.path) { try FileManager.default.removeItem(at: destination) }
        try FileManager.default.moveItem(at: staging, to: destination)
    }
}
