/// The two families of image media types: OCI's and Docker's image manifest v2 schema 2.
///
/// A manifest uses one family throughout (manifest, config, every layer): readers such as
/// `umoci` refuse an OCI manifest that lists Docker layers, and Docker's schema 2 has no
/// words for some OCI layers. The layer bytes are the same in both; only descriptors differ,
/// so an image changes family by rewriting its manifest, never its blobs.
public enum MediaTypeFamily: String, Sendable, Hashable, Codable, CaseIterable {
    /// `application/vnd.oci.*`: the default everywhere Kiln writes an image.
    case oci
    /// `application/vnd.docker.*`: BuildKit's `oci-mediatypes=false`, for registries and tools
    /// that know only Docker's types.
    case docker

    /// The image manifest's media type.
    public var manifest: MediaType { self == .oci ? .ociManifest : .dockerManifest }
    /// The index's (Docker: manifest list's) media type.
    public var index: MediaType { self == .oci ? .ociIndex : .dockerManifestList }
    /// The image config's media type.
    public var config: MediaType { self == .oci ? .ociConfig : .dockerConfig }

    /// The family `mediaType` belongs to; nil for a media type of neither (an artifact's).
    public init?(of mediaType: MediaType) {
        if mediaType.rawValue.hasPrefix("application/vnd.oci.") { self = .oci; return }
        if mediaType.rawValue.hasPrefix("application/vnd.docker.") { self = .docker; return }
        return nil
    }

    /// This family's media type for a layer blob now described as `mediaType`: the same
    /// compression and the same distributability (a foreign Docker layer becomes an OCI
    /// non-distributable one and back). Throws for what this family cannot say: a zstd layer
    /// in Docker's, a media type that is no layer.
    public func layer(_ mediaType: MediaType) throws(MediaTypeFamilyError) -> MediaType {
        guard let layer = LayerMediaType(mediaType) else { throw .notALayer(mediaType) }
        switch (self, layer.compression, layer.distributable) {
        case (.oci, .none, true): return .ociLayer
        case (.oci, .gzip, true): return .ociLayerGzip
        case (.oci, .zstd, true): return .ociLayerZstd
        case (.oci, .none, false): return .ociLayerNonDistributable
        case (.oci, .gzip, false): return .ociLayerNonDistributableGzip
        case (.oci, .zstd, false): return .ociLayerNonDistributableZstd
        case (.docker, .none, true): return .dockerLayer
        case (.docker, .gzip, true): return .dockerLayerGzip
        case (.docker, .none, false): return .dockerForeignLayer
        case (.docker, .gzip, false): return .dockerForeignLayerGzip
        case (.docker, .zstd, _): throw .zstdInDocker(mediaType)
        }
    }
}

/// A layer a media-type family has no media type for.
public enum MediaTypeFamilyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Docker's schema 2 has no zstd layer type.
    case zstdInDocker(MediaType)
    /// The descriptor does not describe a filesystem layer Kiln knows.
    case notALayer(MediaType)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .zstdInDocker(let mediaType):
            return "a zstd-compressed layer (\(mediaType)) cannot be described with Docker media types; "
                + "use OCI media types (drop oci-mediatypes=false)"
        case .notALayer(let mediaType):
            return "\(mediaType) is not a layer media type Kiln knows"
        }
    }
}

/// What a layer media type says about its blob, whichever family spells it.
struct LayerMediaType: Hashable {
    enum Compression: Hashable { case none, gzip, zstd }

    /// How the tar is compressed.
    var compression: Compression
    /// False for layers registries do not serve (foreign / non-distributable).
    var distributable: Bool

    init?(_ mediaType: MediaType) {
        switch mediaType {
        case .ociLayer, .dockerLayer: (compression, distributable) = (.none, true)
        case .ociLayerGzip, .dockerLayerGzip: (compression, distributable) = (.gzip, true)
        case .ociLayerZstd: (compression, distributable) = (.zstd, true)
        case .ociLayerNonDistributable, .dockerForeignLayer: (compression, distributable) = (.none, false)
        case .ociLayerNonDistributableGzip, .dockerForeignLayerGzip: (compression, distributable) = (.gzip, false)
        case .ociLayerNonDistributableZstd: (compression, distributable) = (.zstd, false)
        default: return nil
        }
    }
}
