import KilnOCI
import KilnStorage

/// A place cache entries are kept: Kiln's root (always on), or a registry repository.
public protocol CacheBackend: Sendable {
    /// A short name for logs and warnings (`local`, `registry.example.com/team/cache`).
    var name: String { get }

    /// The entries among `keys` this backend holds, looked up concurrently. A key whose
    /// entry is unusable (its layer blob gone) is simply absent.
    func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: CacheEntry]

    /// Records `entry`. Its layer blob, if any, is already in `store`.
    func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws
}
