import Foundation
import KilnOCI

/// A property of a step's definition that deliberately does not count toward its key, and why.
public struct KeyExclusion: Sendable, Hashable {
    /// The dotted member path in the definition's encoding (`run.proxyEnvironment`).
    public var path: String
    /// Why leaving it out cannot change what the step produces.
    public var reason: String

    /// Creates an exclusion.
    public init(_ path: String, because reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// A complete description of one cacheable piece of work — the same value the work itself
/// consumes — from which its cache key is derived.
///
/// Every stored property counts: the key hashes the whole encoding, less the members that
/// ``keyExclusions`` names with their reasons. A property added later is in the key unless
/// someone writes down why it must not be; a test checks every property is one or the other.
public protocol CacheKeyed: Encodable, Sendable {
    /// What the key leaves out, each with its reason: the one place that decides it.
    static var keyExclusions: [KeyExclusion] { get }
}

extension CacheKeyed {
    /// The tree the key hashes: the encoding without ``keyExclusions``.
    public func keyDocument() throws -> KeyDocument {
        try KeyDocument(encoding: self).removing(Self.keyExclusions.map(\.path))
    }
}

/// A step's cache key: SHA-256 over a version line and the canonical text of its definition's
/// ``KeyDocument``. Two machines with the same Dockerfile, context and base digest compute the
/// same keys.
public struct CacheKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The key format; bumped when what a key covers changes meaning, so old entries miss.
    public static let version = "kiln-cache-key v2"

    /// The key.
    public let digest: Digest

    /// The key of a definition's document.
    public init(document: KeyDocument) {
        self.digest = Digest.sha256(of: Data((Self.version + "\n" + document.canonicalText).utf8))
    }

    /// The key of `definition`.
    public init<Definition: CacheKeyed>(_ definition: Definition) throws {
        self.init(document: try definition.keyDocument())
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
