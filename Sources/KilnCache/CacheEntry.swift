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

/// What a cache remembers for one key: one result of the step, and what it was built on.
///
/// A key names a step by its definition, and a definition names what it starts from by the
/// key of the step before it. That alone cannot tell two results of the same definition apart
/// (a step that is not deterministic, built twice at once, or re-run with `--no-cache-filter`),
/// so every entry also records its **basis**: the identities of the filesystems it actually
/// read, by content (the chain ID of the layers below it, of a `COPY --from` stage, of a stage
/// bind-mounted). A hit counts only when its basis is the basis this build actually has; the
/// same key may hold several entries ("variants") with different bases, and a store never
/// replaces another build's variant.
///
/// The image config is not part of an entry: it follows from the instructions, which the
/// builder replays without running anything.
public struct CacheEntry: Sendable, Hashable, Codable {
    /// The key.
    public var key: CacheKey
    /// The step's layer; nil for a step that changed nothing (recorded as `empty_layer`).
    public var layer: CachedLayer?
    /// The document whose hash is ``key``: what the step was, for `--explain-cache` and `kiln cache ls`.
    public var definition: KeyDocument
    /// The content identities the step read, by role (`parent`, `source`, `mount /m`).
    public var basis: [String: Digest]
    /// When the entry was written (RFC 3339), for pruning by age.
    public var created: String
    /// COPY/ADD: each copied path and the digest of what was written there, so a later miss can
    /// name the file that changed. Left out (nil) for very large copies.
    public var sourceFiles: [String: String]?
    /// The step's text as the Dockerfile wrote it, for listings (never part of the key).
    public var instruction: String?

    /// Creates an entry.
    public init(key: CacheKey, layer: CachedLayer?, definition: KeyDocument, basis: [String: Digest] = [:],
                created: String, sourceFiles: [String: String]? = nil, instruction: String? = nil) {
        self.key = key
        self.layer = layer
        self.definition = definition
        self.basis = basis
        self.created = created
        self.sourceFiles = sourceFiles
        self.instruction = instruction
    }

    /// Names this result among the key's variants: its basis and its layer. Two builds that
    /// produced the same bytes on the same basis write the same variant.
    public var variant: Digest {
        var text = "basis"
        for (role, digest) in basis.sorted(by: { $0.key < $1.key }) { text += " " + KeyDocument.quote(role) + "=" + digest.description }
        text += "\nlayer " + (layer?.descriptor.digest.description ?? "none")
        return Digest.sha256(of: Data(text.utf8))
    }

    /// Whether the entry was computed from `document` (a tampered or mixed-up entry is not).
    public var isConsistent: Bool { CacheKey(document: definition) == key }

    /// The kind of step (`run`, `copy`, `workdir`, …): the definition's operation member.
    public var operation: String {
        if case .object(let members) = definition {
            for name in members.keys.sorted() where ![ "parent", "platform", "buildArgs"].contains(name) { return name }
        }
        return "?"
    }

    /// A one-line summary for listings: the instruction's text, else the kind of step.
    public var summary: String { instruction ?? operation }
}
