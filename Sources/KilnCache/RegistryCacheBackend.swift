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
/// one manifest GET per key. A store reads that list and writes it back with its variant
/// added, so two builds racing on one key may drop each other's variant from it. Every variant
/// is therefore first written under a tag of its own (``variantTag(_:)``, no other writer's
/// tag), and ``completeVariants(_:)`` finds the ones a list lacks from the repository's tags:
/// a chain of steps one build stored stays reachable whatever other builds stored at the same
/// time.
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

    /// The start of every variant tag of `key`: `kiln-<32 hex>-`.
    static func variantTagPrefix(_ key: CacheKey) -> String {
        "kiln-" + key.digest.encoded.prefix(32) + "-"
    }

    /// The tag only `entry`'s variant is written under: `kiln-<32 hex of the key>-<32 hex of
    /// the variant>`. Two builds write the same tag only for the same variant.
    public static func variantTag(_ entry: CacheEntry) -> String {
        variantTagPrefix(entry.key) + entry.variant.encoded.prefix(32)
    }

    /// Every variant of `keys` the repository holds: each key's list, and the variants whose
    /// own tags the list lacks (a concurrent writer dropped them, or they were older than the
    /// list keeps), at most ``maximumVariants`` more per key. One tag listing of the repository
    /// (distribution 2.8 ignores `n` and `last`), so a build asks it only when its lookahead
    /// cannot reach a step the cache knows. A registry that refuses the listing answers with
    /// the lists alone.
    public func completeVariants(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]] {
        let found = try await lookup(keys)
        guard let tags = try? await client.listTags(in: repository) else { return found }
        return try await completeVariants(found, variantTags: Self.variantTags(of: keys, in: tags))
    }

    /// `found` (keys' lists) with the variants under `variantTags` (each key's variant tags)
    /// the lists lack, at most ``maximumVariants`` more per key.
    private func completeVariants(_ found: [CacheKey: [CacheEntry]],
                                  variantTags: [CacheKey: [String]]) async throws -> [CacheKey: [CacheEntry]] {
        var found = found
        var unlisted: [(key: CacheKey, tag: String)] = []
        for (key, variantTags) in variantTags {
            let missing = variantTags.filter { tag in
                found[key]?.contains(where: { $0.variant.encoded.hasPrefix(tag.suffix(32)) }) != true
            }
            unlisted += missing.prefix(Self.maximumVariants).map { (key, $0) }
        }
        try await forEachConcurrently(unlisted, limit: parallelism, { (key, tag) in (key, try await self.fetchEntries(key, tag: tag)) },
                                      receive: { key, entries in
            for entry in entries where found[key]?.contains(where: { $0.variant == entry.variant }) != true {
                found[key, default: []].append(entry)
            }
        })
        return found
    }

    /// The variant tags among `tags` of each of `keys` (`kiln-<32 hex of the key>-<32 hex>`),
    /// sorted; a key with none is absent.
    static func variantTags(of keys: [CacheKey], in tags: [String]) -> [CacheKey: [String]] {
        let byPrefix = Dictionary(keys.map { (variantTagPrefix($0), $0) }, uniquingKeysWith: { first, _ in first })
        guard let prefixLength = byPrefix.keys.first?.count else { return [:] }
        var found: [CacheKey: [String]] = [:]
        for tag in tags.sorted() where tag.count == prefixLength + 32 {
            if let key = byPrefix[String(tag.prefix(prefixLength))] { found[key, default: []].append(tag) }
        }
        return found
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
        // The variant's own tag first: once the key's list names the variant, that tag exists too.
        try await pushVariants(merging: entry, into: [], tag: Self.variantTag(entry))
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
    /// Every Kiln entry in the repository (tags `kiln-<hex>`, and the variants their lists
    /// lack), read `parallelism` at a time.
    public func entries() async throws -> [CacheEntry] {
        try await inventory().entries.values.flatMap { $0 }.sorted {
            ($0.key.digest, $0.created) < ($1.key.digest, $1.created)
        }
    }

    /// Every Kiln entry in the repository by key, and each key's variant tags: one tag listing.
    private func inventory() async throws -> (entries: [CacheKey: [CacheEntry]], variantTags: [CacheKey: [String]]) {
        let tags = try await client.listTags(in: repository)
        let keys = tags.compactMap(Self.key(tagged:))
        let variantTags = Self.variantTags(of: keys, in: tags)
        return (try await completeVariants(lookup(keys), variantTags: variantTags), variantTags)
    }

    /// The key whose list `tag` is, if it is one.
    static func key(tagged tag: String) -> CacheKey? {
        guard tag.hasPrefix("kiln-"), let digest = Digest("sha256:" + tag.dropFirst(5)) else { return nil }
        return CacheKey(digest: digest)
    }

    /// Deletes the keys whose newest variant was created before `cutoff`: each key's list and
    /// every variant tag of the key (their manifests; the registry's garbage collector reclaims
    /// blobs no manifest uses). Returns how many keys were deleted.
    public func prune(createdBefore cutoff: Date) async throws -> Int {
        let (entries, variantTags) = try await inventory()
        var newest: [CacheKey: Date] = [:]
        for entry in entries.values.flatMap({ $0 }) {
            guard let created = ISO8601DateFormatter().date(from: entry.created) else { continue }
            newest[entry.key] = max(newest[entry.key] ?? .distantPast, created)
        }
        var deleted = 0
        for (key, created) in newest where created < cutoff {
            let doomed = [key.tag] + (variantTags[key] ?? [])
            for (index, tag) in doomed.enumerated() {
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
