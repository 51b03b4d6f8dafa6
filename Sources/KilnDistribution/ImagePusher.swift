import Foundation
import KilnConcurrency
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage

/// Pushes images to registries: blobs first, several at once, each skipped when the
/// repository has it and mounted when another repository of the same registry does; the
/// config next; the manifest last, so that an interrupted push never leaves a tag that points
/// at a missing blob.
public struct ImagePusher: Sendable {
    /// The clients, shared with pulls.
    public let pool: RegistryPool

    /// A pusher over `pool`'s registries.
    public init(pool: RegistryPool) {
        self.pool = pool
    }

    /// Pushes `image` to `reference` (a tag, or the image's own digest). Returns the manifest digest.
    @discardableResult
    public func push(_ image: any KilnImage.Image, to reference: Reference, mountFrom: [Reference] = [],
                     progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> Digest {
        try await push(image, to: [reference], mountFrom: mountFrom, progress: progress)
    }

    /// Pushes `image` under every reference of `references`. Blobs go to each repository once;
    /// a repository named with several tags gets the manifest by digest once, then under each tag.
    /// `mountFrom` names repositories that may already hold the blobs: those on the target's
    /// registry are offered as mount sources (repositories pushed earlier in this call too).
    @discardableResult
    public func push(_ image: any KilnImage.Image, to references: [Reference], mountFrom: [Reference] = [],
                     progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> Digest {
        let rawManifest = try image.rawManifest()
        let manifest = try image.manifest()
        let digest = Digest.sha256(of: rawManifest)
        let layers = try image.layers()
        let rawConfig = try image.rawConfig()
        var pushedRepositories = mountFrom
        for target in Self.groupedByRepository(references) {
            let first = target[0]
            try Self.checkPinnedDigests(target, are: digest)
            let client = await pool.client(for: first.registry)
            let sources = pushedRepositories.filter { $0.registry == first.registry }.map(\.repository)
            try await forEachConcurrently(layers, limit: pool.options.maximumConcurrentTransfers) { layer in
                try await Self.pushLayer(layer, client: client, repository: first.repository, mountSources: sources,
                                         reference: first, progress: progress)
            }
            try await Self.pushConfig(rawConfig, digest: manifest.config.digest, client: client,
                                      repository: first.repository, mountSources: sources)
            try await Self.putManifest(rawManifest, mediaType: manifest.mediaType ?? .ociManifest, digest: digest,
                                       as: target, client: client)
            pushedRepositories.append(first)
        }
        return digest
    }

    /// Throws unless every reference of `references` that names a digest names `digest`.
    static func checkPinnedDigests(_ references: [Reference], are digest: Digest) throws {
        for reference in references where reference.digest != nil && reference.digest != digest {
            throw DistributionError.unpushable(reference: reference.description, reason: "the image's digest is \(digest)")
        }
    }

    /// Puts a manifest's or an index's exact bytes into the one repository `group` names (its
    /// blobs and children already there): under each tag of the group, and by digest first when
    /// the group has no tag or several.
    static func putManifest(_ bytes: Data, mediaType: MediaType, digest: Digest, as group: [Reference],
                            client: RegistryClient) async throws {
        let repository = group[0].repository
        let tags = group.compactMap { $0.digest == nil ? ($0.tag ?? Reference.defaultTag) : nil }
        if tags.count != 1 {
            try await client.pushManifest(bytes, mediaType: mediaType, to: .digest(digest), in: repository)
        }
        for tag in Set(tags).sorted() {
            try await client.pushManifest(bytes, mediaType: mediaType, to: .tag(tag), in: repository)
        }
    }

    /// References grouped by repository (registry and name), in first-seen order.
    static func groupedByRepository(_ references: [Reference]) -> [[Reference]] {
        var order: [String] = []
        var groups: [String: [Reference]] = [:]
        for reference in references {
            if groups[reference.name] == nil { order.append(reference.name) }
            groups[reference.name, default: []].append(reference)
        }
        return order.map { groups[$0]! }
    }

    /// The config, mounted like a layer when a source has it: a copy within one registry then
    /// uploads nothing but manifests.
    private static func pushConfig(
        _ bytes: Data, digest: Digest, client: RegistryClient, repository: String, mountSources: [String]
    ) async throws {
        if try await presentOrMounted(digest, client: client, repository: repository, mountSources: mountSources) { return }
        try await client.pushBlob(data: bytes, to: repository)
    }

    /// Whether `repository` has the blob, or now has it mounted from one of `mountSources`.
    private static func presentOrMounted(_ digest: Digest, client: RegistryClient, repository: String,
                                         mountSources: [String]) async throws -> Bool {
        if try await client.blobExists(digest, in: repository) { return true }
        for source in mountSources where source != repository {
            if (try? await client.mountBlob(digest, from: source, to: repository)) == true { return true }
        }
        return false
    }

    /// One layer's blob into `repository`: skipped when it is there, mounted from one of
    /// `mountSources` when it can be, else uploaded (a ``DeferredLayer`` fetched first).
    static func pushLayer(
        _ layer: any Layer, client: RegistryClient, repository: String, mountSources: [String], reference: Reference,
        progress: @Sendable (TransferProgress) -> Void
    ) async throws {
        let descriptor = layer.descriptor
        if !descriptor.urls.isEmpty || descriptor.mediaType.isNonDistributable {
            // Foreign layers stay where their URLs point; registries refuse to hold them.
            return
        }
        // Bytes are read only for a blob the repository has no copy of and cannot mount (a fully
        // cached build pushed next to its cache reads and uploads nothing).
        if try await Self.presentOrMounted(descriptor.digest, client: client, repository: repository, mountSources: mountSources) {
            progress(TransferProgress(digest: descriptor.digest, completedBytes: descriptor.size,
                                      totalBytes: descriptor.size, skipped: true))
            return
        }
        var fetched = layer
        if let deferred = layer as? DeferredLayer {
            fetched = try await deferred.fetch()
        }
        let source = fetched
        let spooled = try await onOwnThread { try LayerFile(source, reference: reference) }
        defer { spooled.removeTemporary() }
        let result: BlobPushResult
        do {
            result = try await client.pushBlob(
                file: spooled.region.file, offset: spooled.region.offset, digest: descriptor.digest, size: descriptor.size,
                to: repository)
        } catch {
            // The registry commits a blob only if it hashes to its digest, so a corrupt store blob
            // is refused there, never stored; the store's check then names and quarantines it.
            guard let stored = source as? StoredLayer else { throw error }
            throw await (try? onOwnThread { stored.explain(error) }) ?? error
        }
        progress(TransferProgress(digest: descriptor.digest, completedBytes: descriptor.size,
                                  totalBytes: descriptor.size, skipped: result != .uploaded))
    }
}

/// A layer's blob as a region of a file that uploads can stream and re-read on retry: the
/// layer's own file when it has one (a content-store blob's file: the registry checks its
/// digest before it commits it), else a temporary copy.
struct LayerFile {
    let region: FileRegion
    private let temporary: URL?

    init(_ layer: any Layer, reference: Reference) throws {
        if let fileLayer = layer as? FileLayer {
            region = fileLayer.region
            temporary = nil
            return
        }
        if let stored = layer as? StoredLayer {
            region = FileRegion(file: stored.file, offset: 0, length: stored.descriptor.size)
            temporary = nil
            return
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-push-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw DistributionError.unpushable(reference: reference.description, reason: "cannot create \(url.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            let written = try layer.openBlob().forEachChunk { chunk in handle.write(Data(chunk)) }
            guard written.digest == layer.descriptor.digest else {
                throw DistributionError.unpushable(
                    reference: reference.description,
                    reason: "layer \(layer.descriptor.digest) reads back as \(written.digest)")
            }
            region = FileRegion(file: url, offset: 0, length: written.size)
            temporary = url
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
    }

    func removeTemporary() {
        if let temporary { try? FileManager.default.removeItem(at: temporary) }
    }
}
