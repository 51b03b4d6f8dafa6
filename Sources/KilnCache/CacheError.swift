import KilnOCI

/// Why a cache operation failed.
public enum CacheError: Error, Sendable, CustomStringConvertible {
    /// An entry names a layer blob that is not in the content store.
    case missingBlob(Digest)

    /// A one-line message.
    public var description: String {
        switch self {
        case .missingBlob(let digest): return "cache entry refers to blob \(digest), which is not in the content store"
        }
    }
}
