/// Media types of the OCI image spec v1.1 and Docker's image manifest v2 schema 2.
public struct MediaType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The media type string.
    public let rawValue: String

    /// Wraps a media type string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a media type string literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

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
}
