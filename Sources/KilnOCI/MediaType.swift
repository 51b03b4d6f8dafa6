/// Media types of the OCI image spec v1.1 and Docker's image manifest v2 schema 2.
public struct MediaType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The media type string.
    public let rawValue: String

    /// Wraps a media type string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a media type string literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The text form shown to users.
    public var description: String { rawValue }

    /// Decodes the media type string as is.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// `application/vnd.oci.image.manifest.v1+json`
    public static let ociManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    /// `application/vnd.oci.image.index.v1+json`
    public static let ociIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    /// `application/vnd.oci.image.config.v1+json`
    public static let ociConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    /// `application/vnd.oci.image.layer.v1.tar`
    public static let ociLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    /// `application/vnd.oci.image.layer.v1.tar+gzip`
    public static let ociLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// `application/vnd.oci.image.layer.v1.tar+zstd`
    public static let ociLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// `application/vnd.oci.empty.v1+json`
    public static let ociEmpty: MediaType = "application/vnd.oci.empty.v1+json"
    /// `application/vnd.docker.distribution.manifest.v2+json`
    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    /// `application/vnd.docker.distribution.manifest.list.v2+json`
    public static let dockerManifestList: MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// `application/vnd.docker.container.image.v1+json`
    public static let dockerConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    /// `application/vnd.docker.image.rootfs.diff.tar.gzip`
    public static let dockerLayerGzip: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// `application/vnd.oci.descriptor.v1+json`: a standalone content descriptor.
    public static let ociDescriptor: MediaType = "application/vnd.oci.descriptor.v1+json"
    /// `application/vnd.oci.layout.header.v1+json`: the `oci-layout` file.
    public static let ociLayoutHeader: MediaType = "application/vnd.oci.layout.header.v1+json"
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar` (deprecated by the spec; read only).
    public static let ociLayerNonDistributable: MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+gzip` (deprecated by the spec; read only).
    public static let ociLayerNonDistributableGzip: MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+zstd` (deprecated by the spec; read only).
    public static let ociLayerNonDistributableZstd: MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    /// `application/vnd.docker.image.rootfs.diff.tar`: an uncompressed Docker layer.
    public static let dockerLayer: MediaType = "application/vnd.docker.image.rootfs.diff.tar"
    /// `application/vnd.docker.image.rootfs.foreign.diff.tar.gzip`: a Docker layer that registries do not serve (Windows base layers).
    public static let dockerForeignLayerGzip: MediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    /// `application/vnd.docker.image.rootfs.foreign.diff.tar`: an uncompressed foreign Docker layer.
    public static let dockerForeignLayer: MediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar"
}

extension MediaType {
    /// Whether this names an image manifest, OCI or Docker schema 2.
    public var isManifest: Bool { self == .ociManifest || self == .dockerManifest }

    /// Whether this names an index, OCI image index or Docker manifest list.
    public var isIndex: Bool { self == .ociIndex || self == .dockerManifestList }

    /// Whether this names an image config, OCI or Docker.
    public var isImageConfig: Bool { self == .ociConfig || self == .dockerConfig }

    /// Whether this names a filesystem layer Kiln knows how to apply.
    public var isLayer: Bool {
        switch self {
        case .ociLayer, .ociLayerGzip, .ociLayerZstd,
             .ociLayerNonDistributable, .ociLayerNonDistributableGzip, .ociLayerNonDistributableZstd,
             .dockerLayer, .dockerLayerGzip, .dockerForeignLayer, .dockerForeignLayerGzip:
            return true
        default:
            return false
        }
    }

    /// Whether this names a layer registries do not serve (Docker's foreign layers, OCI's
    /// non-distributable ones): a push leaves it where its URLs point.
    public var isNonDistributable: Bool { LayerMediaType(self)?.distributable == false }

    /// Whether this names a plain-tar layer (its digest is then its diffID).
    public var isUncompressedLayer: Bool { LayerMediaType(self)?.compression == LayerMediaType.Compression.none }

    /// Whether the string is `type/subtype` with RFC 6838 restricted names, the pattern the OCI
    /// schemas enforce: each side starts with an alphanumeric and has at most 127 characters from
    /// ``A-Za-z0-9!#$&^_.+-``.
    public var isWellFormed: Bool {
        let parts = rawValue.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { name in
            guard let first = name.first, name.count <= 127, MediaType.isAlphanumeric(first) else { return false }
            return name.allSatisfy { MediaType.isAlphanumeric($0) || "!#$&^_.+-".utf8.contains($0) }
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}
