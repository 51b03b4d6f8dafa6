import Foundation

/// An image manifest: one config blob and an ordered list of layers.
///
/// The same shape reads OCI image manifests and Docker image manifests v2 schema 2; `mediaType`
/// keeps which one it was, so a manifest re-encodes as what it came in as.
public struct Manifest: OCIDocument, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.manifest.v1+json` or Docker's; optional in OCI, Kiln always writes it.
    public var mediaType: MediaType?
    /// The artifact type, for manifests that are not container images (omitted when nil).
    public var artifactType: MediaType?
    /// The image config (or an artifact's config, or the empty descriptor).
    public var config: Descriptor
    /// Layers, base first.
    public var layers: [Descriptor]
    /// The manifest this one refers to (signatures, SBOMs; omitted when nil).
    public var subject: Descriptor?
    /// Arbitrary metadata (omitted when empty).
    public var annotations: [String: String]

    /// Creates an OCI image manifest.
    public init(
        mediaType: MediaType? = .ociManifest, config: Descriptor, layers: [Descriptor],
        artifactType: MediaType? = nil, subject: Descriptor? = nil, annotations: [String: String] = [:]
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    private enum CodingKeys: String, CodingKey {
        case schemaVersion, mediaType, artifactType, config, layers, subject, annotations
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        mediaType = try container.decodeIfPresent(MediaType.self, forKey: .mediaType)
        artifactType = try container.decodeIfPresent(MediaType.self, forKey: .artifactType)
        config = try container.decode(Descriptor.self, forKey: .config)
        layers = try container.decode([Descriptor].self, forKey: .layers)
        subject = try container.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encodeIfPresent(mediaType, forKey: .mediaType)
        try container.encodeIfPresent(artifactType, forKey: .artifactType)
        try container.encode(config, forKey: .config)
        try container.encode(layers, forKey: .layers)
        try container.encodeIfPresent(subject, forKey: .subject)
        if !annotations.isEmpty { try container.encode(annotations, forKey: .annotations) }
    }

    /// Checks the manifest schema: version 2, well-formed media types, at least one layer
    /// (`minItems: 1`), and every descriptor valid.
    public func validate() throws(ValidationError) {
        try EnvelopeRule.check(schemaVersion: schemaVersion, mediaType: mediaType, artifactType: artifactType, subject: subject)
        do { try config.validate() } catch { throw error.nested(in: "config") }
        guard !layers.isEmpty else { throw ValidationError(field: "layers", reason: "must list at least one layer") }
        for (position, layer) in layers.enumerated() {
            do { try layer.validate() } catch { throw error.nested(in: "layers[\(position)]") }
        }
    }
}

/// The fields manifests and indexes share: `schemaVersion` 2, well-formed media types, a valid subject.
enum EnvelopeRule {
    static func check(
        schemaVersion: Int, mediaType: MediaType?, artifactType: MediaType?, subject: Descriptor?
    ) throws(ValidationError) {
        guard schemaVersion == 2 else {
            throw ValidationError(field: "schemaVersion", reason: "must be 2, got \(schemaVersion)")
        }
        if let mediaType { try MediaTypeRule.check(mediaType, field: "mediaType") }
        if let artifactType { try MediaTypeRule.check(artifactType, field: "artifactType") }
        do { try subject?.validate() } catch { throw error.nested(in: "subject") }
    }
}
