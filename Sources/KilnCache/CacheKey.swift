import Foundation
import KilnOCI

/// A step's cache key (cache key v1 in ARCHITECTURE.md): SHA-256 over ``CacheKeyInput``'s
/// canonical text. Two machines with the same Dockerfile, context and base digest compute
/// the same keys.
public struct CacheKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The key.
    public let digest: Digest

    /// The key of `input`.
    public init(_ input: CacheKeyInput) {
        self.digest = Digest.sha256(of: Data(input.canonicalText.utf8))
    }

    /// A key known by its digest (read back from an entry or a tag).
    public init(digest: Digest) {
        self.digest = digest
    }

    /// The registry tag of this key's entry: `kiln-<64 hex>`.
    public var tag: String { "kiln-" + digest.encoded }

    /// `sha256:…`.
    public var description: String { digest.description }
}
