import Foundation

/// A content descriptor: what a blob is (media type), which bytes exactly (digest, size), and
/// optional hints (URLs, annotations, embedded data, platform, artifact type).
public struct Descriptor: OCIDocument, Hashable {
    /// Media type of the referenced content.
    public var mediaType: MediaType
    /// Digest of the referenced content. Any algorithm of the OCI grammar is kept on read.
    public var digest: Digest
    /// Size of the referenced content in bytes.
    public var size: Int64
    /// Other places the content may be fetched from (omitted when empty).
    public var urls: [String]
    /// Arbitrary metadata (omitted when empty).
    public var annotations: [String: String]
    /// The content itself, embedded; base64 in JSON (omitted when nil).
    public var data: Data?
    /// The platform of the referenced manifest, in an index (omitted when nil).
    public var platform: Platform?
    /// The artifact type of the referenced manifest (omitted when nil).
    public var artifactType: MediaType?

    /// Creates a descriptor.
    public init(
        mediaType: MediaType, digest: Digest, size: Int64, urls: [String] = [], annotations: [String: String] = [:],
        data: Data? = nil, platform: Platform? = nil, artifactType: MediaType? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.data = data
        self.platform = platform
        self.artifactType = artifactType
    }

    private enum CodingKeys: String, CodingKey {
        case mediaType, digest, size, urls, annotations, data, platform, artifactType
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decode(MediaType.self, forKey: .mediaType)
        let digestText = try container.decode(String.self, forKey: .digest)
        do { digest = try Digest(parsingAnyAlgorithm: digestText) } catch {
            throw DecodingError.dataCorruptedError(forKey: .digest, in: container, debugDescription: error.description)
        }
        size = try container.decode(Int64.self, forKey: .size)
        urls = try container.decodeIfPresent([String].self, forKey: .urls) ?? []
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        if let text = try container.decodeIfPresent(String.self, forKey: .data) {
            guard let bytes = StrictBase64.decode(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .data, in: container, debugDescription: "not padded standard base64")
            }
            data = bytes
        } else {
            data = nil
        }
        platform = try container.decodeIfPresent(Platform.self, forKey: .platform)
        artifactType = try container.decodeIfPresent(MediaType.self, forKey: .artifactType)
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mediaType, forKey: .mediaType)
        try container.encode(digest, forKey: .digest)
        try container.encode(size, forKey: .size)
        if !urls.isEmpty { try container.encode(urls, forKey: .urls) }
        if !annotations.isEmpty { try container.encode(annotations, forKey: .annotations) }
        if let data { try container.encode(data.base64EncodedString(), forKey: .data) }
        try container.encodeIfPresent(platform, forKey: .platform)
        try container.encodeIfPresent(artifactType, forKey: .artifactType)
    }

    /// Checks the descriptor schema: media types, size >= 0, URIs, embedded data matching size and digest.
    public func validate() throws(ValidationError) {
        try MediaTypeRule.check(mediaType, field: "mediaType")
        if let artifactType { try MediaTypeRule.check(artifactType, field: "artifactType") }
        guard size >= 0 else { throw ValidationError(field: "size", reason: "must not be negative, got \(size)") }
        for (position, url) in urls.enumerated() where !URIRule.isURI(url) {
            throw ValidationError(field: "urls[\(position)]", reason: "\"\(url)\" is not a URI")
        }
        if let data, data.count != size {
            throw ValidationError(field: "data", reason: "embeds \(data.count) bytes but size is \(size)")
        }
        if let data, digest.algorithm == "sha256", Digest.sha256(of: data) != digest {
            throw ValidationError(field: "data", reason: "embedded bytes do not match digest \(digest)")
        }
        do { try platform?.validate() } catch { throw error.nested(in: "platform") }
    }
}
