import Foundation
import KilnOCI
import KilnRegistry
import KilnStorage

/// Cache entries kept in a registry repository, shared by every machine that can reach it.
///
/// An entry is a small OCI manifest tagged ``CacheKey/tag`` (`kiln-<hex>`). Its one layer is
/// the step's layer blob — or, for a step that changed nothing, the OCI empty descriptor,
/// since a manifest must list a layer. Its config is the ``CacheEntry`` as JSON, and the same
/// JSON rides in an annotation so that a lookup is exactly one manifest GET per key.
public struct RegistryCacheBackend: CacheBackend {
    /// The config and artifact type of an entry.
    public static let entryMediaType: MediaType = "application/vnd.kiln.cache.entry.v1+json"
    /// The annotation holding the entry JSON.
    public static let entryAnnotation = "dev.kiln.cache.entry"

    /// The registry.
    public let client: RegistryClient
    /// The repository path within the registry (`team/cache`).
    public let repository: String
    /// How many lookups or uploads run at once.
    public let parallelism: Int

    /// A backend over `repository` of `client`'s registry.
    public init(client: RegistryClient, repository: String, parallelism: Int = 8) {
        self.client = client
        self.repository = repository
        self.parallelism = max(1, parallelism)
    }

    /// `registry/repository`.
    public var name: String { "\(client.registry)/\(repository)" }

    /// One manifest GET per key, `parallelism` at a time. A key without a tag is a miss; any
    /// other failure is thrown, so the caller can warn that the cache is unavailable.
    public func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: CacheEntry] {
        var found: [CacheKey: CacheEntry] = [:]
        try await withThrowingTaskGroup(of: (CacheKey, CacheEntry?).self) { group in
            var pending = keys.makeIterator()
            func addNext() {
                guard let key = pending.next() else { return }
                group.addTask { (key, try await fetchEntry(key)) }
            }
            for _ in 0..<parallelism { addNext() }
            while let (key, entry) = try await group.next() {
                if let entry { found[key] = entry }
                addNext()
            }
        }
        return found
    }

    /// The entry tagged with `key`, nil when there is none or it is not a Kiln entry.
    public func fetchEntry(_ key: CacheKey) async throws -> CacheEntry? {
        let fetched: FetchedManifest
        do {
            fetched = try await client.fetchManifest(.tag(key.tag), in: repository)
        } catch let error as RegistryError where error.kind == .notFound {
            return nil
        }
        guard let manifest = try? fetched.manifest(), manifest.artifactType == Self.entryMediaType,
              let json = manifest.annotations[Self.entryAnnotation],
              let entry = try? JSONDecoder().decode(CacheEntry.self, from: Data(json.utf8)), entry.key == key
        else { return nil }
        if let layer = entry.layer, manifest.layers.first != layer.descriptor { return nil }
        return entry
    }

    /// Pushes the layer blob (skipped when present, mounted from `mountSources` when one has
    /// it), the config, and the tagged manifest last, so a tag never points at a missing blob.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws {
        try await self.store(entry, blobsIn: store, mountSources: [])
    }

    /// ``store(_:blobsIn:)`` with repositories of the same registry to mount the layer from.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore, mountSources: [String]) async throws {
        let layerDescriptor: Descriptor
        if let layer = entry.layer {
            guard store.size(of: layer.descriptor.digest) == layer.descriptor.size else {
                throw CacheError.missingBlob(layer.descriptor.digest)
            }
            try await client.pushBlob(file: store.path(for: layer.descriptor.digest), digest: layer.descriptor.digest,
                                      size: layer.descriptor.size, to: repository, mountSources: mountSources)
            layerDescriptor = layer.descriptor
        } else {
            let empty = try await client.pushBlob(data: Data("{}".utf8), to: repository)
            layerDescriptor = empty.descriptor(mediaType: .ociEmpty)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let entryJSON = try encoder.encode(entry)
        let config = try await client.pushBlob(data: entryJSON, to: repository)
        let manifest = Manifest(
            config: config.descriptor(mediaType: Self.entryMediaType), layers: [layerDescriptor],
            artifactType: Self.entryMediaType,
            annotations: [Self.entryAnnotation: String(decoding: entryJSON, as: UTF8.self),
                          AnnotationKey.created: entry.created])
        try await client.pushManifest(manifest, to: .tag(entry.key.tag), in: repository)
    }
}

extension RegistryCacheBackend {
    /// Downloads a hit's layer blob into `store` (verified while streaming), for a step that
    /// needs the files; nothing is fetched when it is already there.
    public func fetchLayer(_ layer: CachedLayer, into store: ContentStore) async throws {
        let descriptor = layer.descriptor
        if store.size(of: descriptor.digest) == descriptor.size { return }
        try await store.ingest(expected: descriptor.digest, size: descriptor.size) { writer in
            try await client.fetchBlob(descriptor.digest, size: descriptor.size, from: repository) { buffer in
                try buffer.withUnsafeReadableBytes { try writer.write($0) }
            }
        }
    }
}

extension RegistryCacheBackend {
    /// Every Kiln entry in the repository (tags `kiln-<hex>`), read `parallelism` at a time.
    public func entries() async throws -> [CacheEntry] {
        let keys = try await client.listTags(in: repository).compactMap { tag -> CacheKey? in
            guard tag.hasPrefix("kiln-"), let digest = Digest("sha256:" + tag.dropFirst(5)) else { return nil }
            return CacheKey(digest: digest)
        }
        return try await lookup(keys).values.sorted { $0.key.digest < $1.key.digest }
    }

    /// Deletes the entries created before `cutoff` (their manifests; the registry's garbage
    /// collector reclaims blobs no manifest uses). Returns how many were deleted.
    public func prune(createdBefore cutoff: Date) async throws -> Int {
        var deleted = 0
        for entry in try await entries() {
            guard let created = ISO8601DateFormatter().date(from: entry.created), created < cutoff else { continue }
            let descriptor = try await client.manifestDescriptor(.tag(entry.key.tag), in: repository)
            guard let digest = descriptor?.digest else { continue }
            try await client.deleteManifest(digest, in: repository)
            deleted += 1
        }
        return deleted
    }
}
