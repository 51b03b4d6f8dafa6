import Foundation
import KilnConcurrency
import KilnOCI
import KilnRegistry
import KilnStorage
import NIOCore

/// Images from registries: each mirror of the reference's registry first, then the registry
/// itself. Manifests and configs are verified against their digests; layers stream into a
/// ``ContentStore``, several at once, verified on the way in.
public struct RegistryImageSource: ImageSource {
    /// The clients, shared with pushes and other pulls.
    public let pool: RegistryPool

    /// A source over `pool`'s registries and mirrors.
    public init(pool: RegistryPool) {
        self.pool = pool
    }

    /// A source with a pool of its own made from `options`.
    public init(options: RegistryOptions) throws {
        self.init(pool: try RegistryPool(options: options))
    }

    /// The manifest or index `reference` names, exactly as served, and the endpoint that served it.
    public func fetchTopManifest(_ reference: Reference) async throws -> (FetchedManifest, RegistryEndpoint) {
        try await firstAnswer(await pool.endpoints(for: reference)) { endpoint in
            (try await endpoint.client.fetchManifest(ManifestReference(reference), in: endpoint.repository), endpoint)
        }
    }

    /// Resolves `reference` to `platform`'s manifest (through an index) and its config.
    public func resolve(_ reference: Reference, platform: Platform) async throws -> ResolvedImage {
        try await firstAnswer(await pool.endpoints(for: reference)) { endpoint in
            try await resolve(reference, platform: platform, at: endpoint)
        }
    }

    private func resolve(_ reference: Reference, platform: Platform, at endpoint: RegistryEndpoint) async throws -> ResolvedImage {
        let client = endpoint.client
        var fetched = try await client.fetchManifest(ManifestReference(reference), in: endpoint.repository)
        if fetched.isIndex {
            let index = try decode("index", of: reference) { try fetched.index() }
            guard let chosen = index.bestManifest(for: platform) else {
                let available = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw DistributionError.noMatchingPlatform(reference: reference.description, platform: platform.description,
                                                           available: available)
            }
            fetched = try await client.fetchManifest(.digest(chosen.digest), in: endpoint.repository)
        }
        let manifest = try decode("manifest", of: reference) { try Manifest(validating: fetched.bytes) }
        let rawConfig = try await client.fetchBlobData(manifest.config.digest, size: manifest.config.size,
                                                       from: endpoint.repository)
        let config = try decode("config", of: reference) { try ImageConfig(validating: rawConfig) }
        return ResolvedImage(reference: reference, manifestDigest: fetched.digest, rawManifest: fetched.bytes,
                             manifest: manifest, rawConfig: rawConfig, config: config)
    }

    /// Downloads the blobs `store` lacks, ``RegistryOptions/maximumConcurrentTransfers`` at a
    /// time, each from the first endpoint that serves it whole and verified.
    public func fetch(_ blobs: [Descriptor], of image: ResolvedImage, into store: ContentStore,
                      progress: @escaping @Sendable (TransferProgress) -> Void) async throws {
        let endpoints = await pool.endpoints(for: image.reference)
        var seen: Set<Digest> = []
        let unique = blobs.filter { seen.insert($0.digest).inserted }
        try await forEachConcurrently(unique, limit: pool.options.maximumConcurrentTransfers) { blob in
            try await fetchBlob(blob, from: endpoints, into: store, progress: progress)
        }
    }

    /// Makes one blob present in `store`; returns whether it had to be downloaded.
    @discardableResult
    public func fetchBlob(_ blob: Descriptor, of reference: Reference, into store: ContentStore,
                          progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> Bool {
        try await fetchBlob(blob, from: await pool.endpoints(for: reference), into: store, progress: progress)
    }

    @discardableResult
    private func fetchBlob(_ blob: Descriptor, from endpoints: [RegistryEndpoint], into store: ContentStore,
                           progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Bool {
        if store.size(of: blob.digest) == blob.size {
            progress(TransferProgress(digest: blob.digest, completedBytes: blob.size, totalBytes: blob.size, skipped: true))
            return false
        }
        _ = try await firstAnswer(endpoints) { endpoint in
            try await endpoint.client.fetchBlob(blob, from: endpoint.repository, into: store) { received in
                progress(TransferProgress(digest: blob.digest, completedBytes: received, totalBytes: blob.size))
            }
        }
        progress(TransferProgress(digest: blob.digest, completedBytes: blob.size, totalBytes: blob.size))
        return true
    }

    /// The first endpoint's answer; a mirror's failure moves on to the next endpoint, the
    /// registry's own failure is the error.
    private func firstAnswer<T>(_ endpoints: [RegistryEndpoint], _ body: (RegistryEndpoint) async throws -> T) async throws -> T {
        for endpoint in endpoints.dropLast() {
            do { return try await body(endpoint) } catch is CancellationError {
                throw CancellationError()
            } catch let error as RegistryError {
                if case .transport = error.kind { await pool.markUnreachable(mirror: endpoint.client.registry) }
                continue
            } catch {
                continue
            }
        }
        return try await body(endpoints[endpoints.count - 1])
    }

    private func decode<T>(_ what: String, of reference: Reference, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            throw DistributionError.malformed(reference: reference.description, what: what, reason: "\(error)")
        }
    }
}
