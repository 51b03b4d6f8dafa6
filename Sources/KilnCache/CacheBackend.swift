import KilnOCI
import KilnStorage

/// A place cache entries are kept: Kiln's root (always on), or a registry repository.
public protocol CacheBackend: Sendable {
    /// A short name for logs and warnings (`local`, `registry.example.com/team/cache`).
    var name: String { get }

    /// The variants among `keys` this backend holds, looked up concurrently. A variant whose
    /// layer blob is gone is left out; a key with none is absent.
    func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]]

    /// Every variant of `keys` the backend holds, also those a key's list lost to a concurrent
    /// writer: asked when the variants ``lookup(_:)`` returned cannot carry a build as far as a
    /// step the cache knows.
    func completeVariants(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]]

    /// Records `entry` beside the key's other variants (one with the same basis and layer is
    /// the same variant). Its layer blob, if any, is already in `store`.
    func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws

    /// Puts a hit's layer blob into `store` (verified), for a step that needs its files or an
    /// output that needs its bytes; does nothing when it is already there.
    func fetchLayer(_ layer: CachedLayer, into store: ContentStore) async throws

    /// Every entry the backend holds (for `kiln cache ls` and `--explain-cache`).
    func entries() async throws -> [CacheEntry]
}

extension CacheBackend {
    /// A backend that never loses a variant answers from its ordinary lookup.
    public func completeVariants(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]] {
        try await lookup(keys)
    }

    /// A backend whose blobs live in the content store itself has nothing to fetch: the blob
    /// is there or it is gone.
    public func fetchLayer(_ layer: CachedLayer, into store: ContentStore) async throws {
        guard store.size(of: layer.descriptor.digest) == layer.descriptor.size else {
            throw CacheError.missingBlob(layer.descriptor.digest)
        }
    }
}
