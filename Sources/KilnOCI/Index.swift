import Foundation

/// An image index: a list of manifests, usually one per platform.
///
/// The same shape reads OCI image indexes and Docker manifest lists; `mediaType` keeps which.
public struct Index: OCIDocument, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.index.v1+json` or Docker's manifest list; optional in OCI, Kiln always writes it.
    public var mediaType: MediaType?
    /// The artifact type, for indexes that are artifacts (omitted when nil).
    public var artifactType: MediaType?
    /// The manifests, each with its platform when it is a platform-specific image.
    public var manifests: [Descriptor]
    /// The manifest this one refers to (omitted when nil).
    public var subject: Descriptor?
    /// Arbitrary metadata (omitted when empty).
    public var annotations: [String: String]

    /// Creates an OCI image index.
    public init(
        mediaType: MediaType? = .ociIndex, manifests: [Descriptor], artifactType: MediaType? = nil,
        subject: Descriptor? = nil, annotations: [String: String] = [:]
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.manifests = manifests
        self.subject = subject
        self.annotations = annotations
    }

    private enum CodingKeys: String, CodingKey {
        case schemaVersion, mediaType, artifactType, manifests, subject, annotations
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        mediaType = try container.decodeIfPresent(MediaType.self, forKey: .mediaType)
        artifactType = try container.decodeIfPresent(MediaType.self, forKey: .artifactType)
        manifests = try container.decode([Descriptor].self, forKey: .manifests)
        subject = try container.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encodeIfPresent(mediaType, forKey: .mediaType)
        try container.encodeIfPresent(artifactType, forKey: .artifactType)
        try container.encode(manifests, forKey: .manifests)
        try container.encodeIfPresent(subject, forKey: .subject)
        if !annotations.isEmpty { try container.encode(annotations, forKey: .annotations) }
    }

    /// Checks the index schema: version 2, well-formed media types, every descriptor valid.
    public func validate() throws(ValidationError) {
        try EnvelopeRule.check(schemaVersion: schemaVersion, mediaType: mediaType, artifactType: artifactType, subject: subject)
        for (position, manifest) in manifests.enumerated() {
            do { try manifest.validate() } catch { throw error.nested(in: "manifests[\(position)]") }
        }
    }

    /// The first manifest whose platform matches `platform` (see ``Platform/matches(_:)``).
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.first { $0.platform.map(platform.matches) ?? false }
    }
}
