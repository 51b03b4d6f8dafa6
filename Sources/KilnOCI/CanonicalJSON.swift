import Foundation

/// The one JSON encoding Kiln writes: keys sorted, slashes unescaped, no whitespace.
///
/// Content addressing makes this a correctness rule, not a style: the same image must always
/// serialise to the same bytes so that it always gets the same digest.
public enum CanonicalJSON {
    /// Encodes `value` canonically.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Decodes `Value` from JSON. Unknown fields are ignored, as the spec requires of readers.
    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        try JSONDecoder().decode(type, from: data)
    }

    /// Encodes `value` canonically and digests the bytes.
    public static func blob<Value: Encodable>(_ value: Value) throws -> EncodedBlob {
        EncodedBlob(bytes: try encode(value))
    }

    /// A descriptor of `value`'s canonical encoding.
    public static func descriptor<Value: Encodable>(
        of value: Value, mediaType: MediaType, annotations: [String: String] = [:], platform: Platform? = nil
    ) throws -> Descriptor {
        try blob(value).descriptor(mediaType: mediaType, annotations: annotations, platform: platform)
    }
}

/// Bytes ready to store or push, with their digest and size.
public struct EncodedBlob: Sendable, Hashable {
    /// The content.
    public let bytes: Data
    /// sha256 of `bytes`.
    public let digest: Digest
    /// Length of `bytes`.
    public var size: Int64 { Int64(bytes.count) }

    /// Digests `bytes`.
    public init(bytes: Data) {
        self.bytes = bytes
        self.digest = Digest.sha256(of: bytes)
    }

    /// A descriptor pointing at these bytes.
    public func descriptor(
        mediaType: MediaType, annotations: [String: String] = [:], platform: Platform? = nil
    ) -> Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations, platform: platform)
    }
}
