import Foundation

/// The media-type pattern of the OCI schemas, as a validation step.
enum MediaTypeRule {
    static func check(_ mediaType: MediaType, field: String) throws(ValidationError) {
        guard mediaType.isWellFormed else {
            throw ValidationError(field: field, reason: "\"\(mediaType)\" is not a type/subtype media type (RFC 6838)")
        }
    }
}

/// RFC 3986 absolute URIs, what JSON Schema's `format: uri` accepts.
enum URIRule {
    static func isURI(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, isAlpha(bytes[0]),
              bytes[..<colon].allSatisfy({ isAlpha($0) || isDigit($0) || "+-.".utf8.contains($0) })
        else { return false }
        var index = colon + 1
        var fragmentSeen = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return false }
                index += 3
                continue
            }
            if byte == UInt8(ascii: "#") {
                if fragmentSeen { return false }
                fragmentSeen = true
            } else if !(isAlpha(byte) || isDigit(byte) || "-._~:/?[]@!$&'()*+,;=".utf8.contains(byte)) {
                return false
            }
            index += 1
        }
        return true
    }

    private static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66) }
}

/// Standard, padded base64 only: the schema's `binaryEncoding: base64` rejects what lenient decoders accept.
enum StrictBase64 {
    static func decode(_ text: String) -> Data? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        let padding = bytes.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        guard padding <= 2 else { return nil }
        let body = bytes.dropLast(padding)
        guard body.allSatisfy({ byte in
            (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }) else { return nil }
        return Data(base64Encoded: text)
    }
}
