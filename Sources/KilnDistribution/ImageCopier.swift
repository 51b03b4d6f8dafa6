import Foundation
import KilnConcurrency
import KilnOCI
import KilnRegistry

/// Copies images between registries without unpacking them: every platform of an index, the
/// exact manifest bytes (so digests stay the same), blobs mounted when source and target are
/// on one registry, else downloaded and re-uploaded a few at a time through a temporary file
/// per blob. Manifests go last, children before their index.
public struct ImageCopier: Sendable {
    /// The clients, shared with pulls and pushes.
    public let pool: RegistryPool

    /// A copier over `pool`'s registries.
    public init(pool: RegistryPool) {
        self.pool = pool
    }

    /// Copies `source` (an image or an index) to `destination`. Returns the top manifest's digest.
    @discardableResult
    public func copy(_ source: Reference, to destination: Reference,
                     progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> Digest {
        let origin = RegistryImageSource(pool: pool)
        let (top, endpoint) = try await origin.fetchTopManifest(source)
        if let pinned = destination.digest, pinned != top.digest {
            throw DistributionError.unpushable(reference: destination.description, reason: "the image's digest is \(top.digest)")
        }
        let target = await pool.client(for: destination.registry)
        if top.isIndex {
            let index: Index
            do { index = try top.index() } catch {
                throw DistributionError.malformed(reference: source.description, what: "index", reason: "\(error)")
            }
            for child in index.manifests where child.mediaType.isIndex == false {
                let fetched = try await endpoint.client.fetchManifest(.digest(child.digest), in: endpoint.repository)
                try await copyManifest(fetched, from: endpoint, to: target, repository: destination.repository,
                                       reference: source, progress: progress)
            }
        } else {
            try await copyImage(top, from: endpoint, to: target, repository: destination.repository, reference: source,
                                progress: progress)
        }
        try await target.pushManifest(top.bytes, mediaType: top.mediaType, to: ManifestReference(destination),
                                      in: destination.repository)
        return top.digest
    }

    /// Makes one image manifest present in `repository` of `target` by its digest: its config
    /// and layers first (mounted within one registry, else streamed), the manifest's exact bytes
    /// last. Shared by copies and by ``IndexJoiner``, which gathers images from other repositories.
    func copyManifest(
        _ fetched: FetchedManifest, from endpoint: RegistryEndpoint, to target: RegistryClient, repository: String,
        reference: Reference, progress: @escaping @Sendable (TransferProgress) -> Void
    ) async throws {
        try await copyImage(fetched, from: endpoint, to: target, repository: repository, reference: reference,
                            progress: progress)
        try await target.pushManifest(fetched.bytes, mediaType: fetched.mediaType, to: .digest(fetched.digest),
                                      in: repository)
    }

    /// Makes the config and layers of one image manifest present in the target repository.
    private func copyImage(
        _ fetched: FetchedManifest, from endpoint: RegistryEndpoint, to target: RegistryClient, repository: String,
        reference: Reference, progress: @escaping @Sendable (TransferProgress) -> Void
    ) async throws {
        let manifest: Manifest
        do { manifest = try Manifest(validating: fetched.bytes) } catch {
            throw DistributionError.malformed(reference: reference.description, what: "manifest", reason: "\(error)")
        }
        let blobs = ([manifest.config] + manifest.layers).filter { $0.urls.isEmpty }
        var seen: Set<Digest> = []
        let unique = blobs.filter { seen.insert($0.digest).inserted }
        let sameRegistry = endpoint.client.registry == target.registry
        try await forEachConcurrently(unique, limit: pool.options.maximumConcurrentTransfers) { blob in
            let skipped = try await Self.copyBlob(blob, from: endpoint, to: target, repository: repository,
                                                  mount: sameRegistry)
            progress(TransferProgress(digest: blob.digest, completedBytes: blob.size, totalBytes: blob.size, skipped: skipped))
        }
    }

    /// Pipes the blob from the source's download straight into the target's upload, neither
    /// touching the disk nor holding more than a few buffers. False when either side broke: the
    /// caller then goes the retrying way, through a file.
    private static func streamBlob(
        _ blob: Descriptor, from endpoint: RegistryEndpoint, to target: RegistryClient, repository: String
    ) async throws -> Bool {
        let pipe = BlobPipe()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await endpoint.client.fetchBlob(blob.digest, size: blob.size, from: endpoint.repository) { chunk in
                            try await pipe.send(chunk)
                        }
                        await pipe.finish()
                    } catch {
                        await pipe.finish(throwing: error)
                        throw error
                    }
                }
                group.addTask {
                    do {
                        try await target.pushBlob(streaming: pipe.buffers, digest: blob.digest, size: blob.size, to: repository)
                    } catch {
                        await pipe.abandon()
                        throw error
                    }
                }
                try await group.waitForAll()
            }
            return true
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch {
            return false
        }
    }

    /// Copies one blob; returns true when no bytes moved (present already, or mounted).
    private static func copyBlob(
        _ blob: Descriptor, from endpoint: RegistryEndpoint, to target: RegistryClient, repository: String, mount: Bool
    ) async throws -> Bool {
        if try await target.blobExists(blob.digest, in: repository) { return true }
        if mount, endpoint.repository != repository,
           (try? await target.mountBlob(blob.digest, from: endpoint.repository, to: repository)) == true {
            return true
        }
        if try await streamBlob(blob, from: endpoint, to: target, repository: repository) { return false }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-copy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try await endpoint.client.fetchBlob(blob.digest, size: blob.size, from: endpoint.repository, to: file)
        try await target.pushBlob(file: file, digest: blob.digest, size: blob.size, to: repository)
        return false
    }
}
