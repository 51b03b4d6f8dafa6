import Foundation
import KilnOCI

/// The layer a step produced, as a manifest lists it and as the config's `diff_ids` lists it.
public struct CachedLayer: Sendable, Hashable, Codable {
    /// The blob as stored (compressed).
    public var descriptor: Descriptor
    /// sha256 of the uncompressed tar.
    public var diffID: Digest

    /// Creates a layer record.
    public init(descriptor: Descriptor, diffID: Digest) {
        self.descriptor = descriptor
        self.diffID = diffID
    }
}

/// What a cache remembers for one key: the step's layer (nil when the step changed no
/// file), and the input it was computed from, so a later miss can say what differs.
///
/// The image config is not part of an entry: it follows from the instructions, which the
/// builder replays without running anything.
public struct CacheEntry: Sendable, Hashable, Codable {
    /// The key.
    public var key: CacheKey
    /// The step's layer; nil for a step that changed nothing (recorded as `empty_layer`).
    public var layer: CachedLayer?
    /// The input whose hash is ``key``.
    public var input: CacheKeyInput
    /// When the entry was written (RFC 3339), for pruning by age.
    public var created: String
    /// COPY/ADD: each copied path and the digest of what was written there, so a later miss can
    /// name the file that changed. Left out (nil) for very large copies.
    public var sourceFiles: [String: String]?

    /// Creates an entry.
    public init(key: CacheKey, layer: CachedLayer?, input: CacheKeyInput, created: String,
                sourceFiles: [String: String]? = nil) {
        self.key = key
        self.layer = layer
        self.input = input
        self.created = created
        self.sourceFiles = sourceFiles
    }
}
