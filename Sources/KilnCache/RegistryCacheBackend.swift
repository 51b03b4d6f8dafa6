import Foundation
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnConcurrency

/// Cache entries kept in a registry repository, shared by every machine that can reach it.
///
/// A key is one small OCI manifest tagged ``CacheKey/tag`` (`kiln-<hex>`) holding the key's
/// variants (at most ``maximumVariants``, newest kept): one layer per variant — the step's
/// layer blob, or the OCI empty descriptor for a step that changed nothing — a config that is
/// the variants as a JSON array, and the same array in an annotation, so a lookup is exactly
/// one manifest GET per key. A store reads the manifest and writes it back with its variant
/// added, so two builds racing on one key may drop each other's variant from that list; each
/// variant is therefore also written under a tag of its own key *and basis*
/// (``basisTag(_:_:)``), which only builds on the same content write. A build that finds no
/// fitting variant in a key's list asks that narrower tag: a chain of steps stored by one
/// build stays whole whatever other builds stored at the same time.
public struct RegistryCacheBackend: CacheBackend {
    /// The config and artifact type of a key's manifest.
    public static let entryMediaType: MediaType = "application/vnd.kiln.cache.entries.v2+json"
    /// The annotation holding the variants' JSON.
    public static let entryAnnotation = "dev.kiln.cache.entries"
    /// How many variants one key keeps.
    public static let maximumVariants = 8
    /// Above this, the annotation copy leaves out per-file COPY digests (registries need only
    /// accept manifests up to 4 MiB).
    static let annotationLimit = 512 << 10

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
    public func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]] {
        var found: [CacheKey: [CacheEntry]] = [:]
        try await forEachConcurrently(keys, limit: parallelism, { key in (key, try await self.fetchEntries(key)) },
                                      receive: { key, entries in if !entries.isEmpty { found[key] = entries } })
        return found
    }

    /// The tag of the variants of `key` built on `basis`: `kiln-<32 hex>-<32 hex>`.
    public static func basisTag(_ key: CacheKey, _ basis: [String: Digest]) -> String {
        let probe = CacheEntry(key: key, layer: nil, definition: .null, basis: basis, created: "")
        let basisText = probe.basis.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        return "kiln-" + key.digest.encoded.prefix(32) + "-" + Digest.sha256(of: Data(basisText.utf8)).encoded.prefix(32)
    }

    /// The variants of `key` built on `basis`, from their own tag.
    public func lookup(_ key: CacheKey, basis: [String: Digest]) async throws -> [CacheEntry] {
        try await fetchEntries(key, tag: Self.basisTag(key, basis)).filter { $0.basis == basis }
    }

    /// The variants tagged with `key`; empty when there is none or the tag is not a Kiln entry.
    public func fetchEntries(_ key: CacheKey) async throws -> [CacheEntry] {
        try await fetchEntries(key, tag: key.tag)
    }

    private func fetchEntries(_ key: CacheKey, tag: String) async throws -> [CacheEntry] {
        let fetched: FetchedManifest
        do {
            fetched = try await client.fetchManifest(.tag(tag), in: repository)
        } catch let error as RegistryError where error.kind == .notFound {
            return []
        }
        guard let manifest = try? fetched.manifest(), manifest.artifactType == Self.entryMediaType,
              let json = manifest.annotations[Self.entryAnnotation],
              let entries = try? JSONDecoder().decode([CacheEntry].self, from: Data(json.utf8))
        else { return [] }
        // Each variant's layer must be one the manifest lists, so the registry holds its blob.
        let listed = Set(manifest.layers.map(\.digest))
        return entries.filter { entry in
            entry.key == key && entry.isConsistent && (entry.layer.map { listed.contains($0.descriptor.digest) } ?? true)
        }
    }

    /// Pushes the layer blob (skipped when present, mounted from `mountSources` when one has
    /// it), the config, and the tagged manifest last, so a tag never points at a missing blob.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws {
        try await self.store(entry, blobsIn: store, mountSources: [])
    }

    /// ``store(_:blobsIn:)`` with repositories of the same registry to mount the layer from.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore, mountSources: [String]) async throws {
        if let layer = entry.layer {
            guard store.size(of: layer.descriptor.digest) == layer.descriptor.size else {
                throw CacheError.missingBlob(layer.descriptor.digest)
            }
            let digest = layer.descriptor.digest
            do {
                try await client.pushBlob(file: store.path(for: digest), digest: digest,
                                          size: layer.descriptor.size, to: repository, mountSources: mountSources)
            } catch {
                // The registry refuses bytes that do not hash to the digest; the store's check
                // then names the blob and quarantines it, so it is never shared.
                let usedBy = "the layer of cache entry \(entry.key.digest) (\(entry.summary))"
                throw await (try? onOwnThread {
                    (try? store.openVerified(digest, size: layer.descriptor.size, usedBy: usedBy))?.explain(error) ?? error
                }) ?? error
            }
        }
        // The basis tag first: once the key's list names the variant, its own tag exists too.
        let basisTag = Self.basisTag(entry.key, entry.basis)
        try await pushVariants(merging: entry, into: try await fetchEntries(entry.key, tag: basisTag), tag: basisTag)
        try await pushVariants(merging: entry, into: try await fetchEntries(entry.key), tag: entry.key.tag)
    }

    /// Pushes the manifest listing `existing` and `entry` (newest ``maximumVariants`` kept) as `tag`.
    private func pushVariants(merging entry: CacheEntry, into existing: [CacheEntry], tag: String) async throws {
        var variants = existing.filter { $0.variant != entry.variant }
        variants.append(entry)
        variants = Array(variants.sorted { $0.created < $1.created }.suffix(Self.maximumVariants))
        var layers: [Descriptor] = []
        var emptyDescriptor: Descriptor?
        for variant in variants {
            if var layer = variant.layer?.descriptor {
                // An OCI manifest lists OCI layer types only, whatever an entry recorded.
                layer.mediaType = try MediaTypeFamily.oci.layer(layer.mediaType)
                if !layers.contains(layer) { layers.append(layer) }
            } else if emptyDescriptor == nil {
                let empty = try await client.pushBlob(data: Data("{}".utf8), to: repository)
                emptyDescriptor = empty.descriptor(mediaType: .ociEmpty)
                layers.append(emptyDescriptor!)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let entriesJSON = try encoder.encode(variants)
        var annotationJSON = entriesJSON
        if annotationJSON.count > Self.annotationLimit {
            annotationJSON = try encoder.encode(variants.map { variant -> CacheEntry in
                var slim = variant
                slim.sourceFiles = nil
                return slim
            })
        }
        let config = try await client.pushBlob(data: entriesJSON, to: repository)
        let manifest = Manifest(
            config: config.descriptor(mediaType: Self.entryMediaType), layers: layers,
            artifactType: Self.entryMediaType,
            annotations: [Self.entryAnnotation: String(decoding: annotationJSON, as: UTF8.self),
                          AnnotationKey.created: variants.last?.created ?? entry.created])
        try await client.pushManifest(manifest, to: .tag(tag), in: repository)
    }
}

extension RegistryCacheBackend {
    /// Downloads a hit's layer blob into `store` (verified while streaming), for a step that
    /// needs the files; nothing is fetched when it is already there.
    public func fetchLayer(_ layer: CachedLayer, into store: ContentStore) async throws {
        try await client.fetchBlob(layer.descriptor, from: repository, into: store)
    }
}

extension RegistryCacheBackend {
    /// Every Kiln entry in the repository (tags `kiln-<hex>`), read `parallelism` at a time.
    public func entries() async throws -> [CacheEntry] {
        let keys = try await client.listTags(in: repository).compactMap { tag -> CacheKey? in
            guard tag.hasPrefix("kiln-"), let digest = Digest("sha256:" + tag.dropFirst(5)) else { return nil }
            return CacheKey(digest: digest)
        }
        return try await lookup(keys).values.flatMap { $0 }.sorted {
            ($0.key.digest, $0.created) < ($1.key.digest, $1.created)
        }
    }

    /// Deletes the keys whose newest variant was created before `cutoff`, with the basis tags
    /// of those variants (their manifests; the registry's garbage collector reclaims blobs no
    /// manifest uses). Returns how many keys were deleted.
    public func prune(createdBefore cutoff: Date) async throws -> Int {
        var newest: [CacheKey: Date] = [:]
        var variants: [CacheKey: [CacheEntry]] = [:]
        for entry in try await entries() {
            guard let created = ISO8601DateFormatter().date(from: entry.created) else { continue }
            newest[entry.key] = max(newest[entry.key] ?? .distantPast, created)
            variants[entry.key, default: []].append(entry)
        }
        var deleted = 0
        for (key, created) in newest where created < cutoff {
            let tags = [key.tag] + Set((variants[key] ?? []).map { Self.basisTag(key, $0.basis) }).sorted()
            for (index, tag) in tags.enumerated() {
                guard let digest = try await client.manifestDescriptor(.tag(tag), in: repository)?.digest else { continue }
                do {
                    try await client.deleteManifest(digest, in: repository)
                } catch let error as RegistryError where error.kind == .notFound && index > 0 {
                    continue  // the same manifest under another tag, already gone
                }
            }
            deleted += 1
        }
        return deleted
    }
}
