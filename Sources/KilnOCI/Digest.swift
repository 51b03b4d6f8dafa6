import Crypto
import Foundation

/// A content digest, `algorithm:encoded` (`sha256:` + 64 lowercase hex), as the OCI image spec defines it.
///
/// Kiln writes sha256 only; sha512 is accepted when reading.
public struct Digest: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, LosslessStringConvertible {
    /// The algorithm part (`sha256`, `sha512`).
    public let algorithm: String
    /// The encoded part: lowercase hex.
    public let encoded: String

    /// Parses and validates `algorithm:hex`.
    public init(parsing string: String) throws(DigestError) {
        guard let colon = string.firstIndex(of: ":") else { throw DigestError.malformed(string) }
        let algorithm = String(string[..<colon])
        let encoded = String(string[string.index(after: colon)...])
        let expectedLength: Int
        switch algorithm {
        case "sha256": expectedLength = 64
        case "sha512": expectedLength = 128
        default: throw DigestError.unsupportedAlgorithm(algorithm)
        }
        guard encoded.utf8.count == expectedLength, encoded.utf8.allSatisfy(Digest.isLowerHexByte)
        else { throw DigestError.malformed(string) }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// `LosslessStringConvertible`: nil when `description` is not a valid digest.
    public init?(_ description: String) {
        guard let digest = try? Digest(parsing: description) else { return nil }
        self = digest
    }

    /// Parses any digest the OCI descriptor grammar allows, as readers of foreign manifests must:
    /// `algorithm` matches `[a-z0-9]+([+._-][a-z0-9]+)*`, `encoded` matches `[a-zA-Z0-9=_-]+`.
    ///
    /// Registered algorithms (`sha256`, `sha384`, `sha512`) must still have their exact lowercase-hex
    /// form, as go-digest requires; others (`sha256+b64u`, `multihash+base58`, ...) are kept opaque.
    public init(parsingAnyAlgorithm string: String) throws(DigestError) {
        guard let colon = string.firstIndex(of: ":") else { throw DigestError.malformed(string) }
        let algorithm = String(string[..<colon])
        let encoded = String(string[string.index(after: colon)...])
        guard Digest.isAlgorithmGrammar(algorithm), !encoded.isEmpty,
              encoded.utf8.allSatisfy({ Digest.isEncodedByte($0) })
        else { throw DigestError.malformed(string) }
        let registeredLengths = ["sha256": 64, "sha384": 96, "sha512": 128]
        if let length = registeredLengths[algorithm] {
            guard encoded.utf8.count == length, encoded.utf8.allSatisfy(Digest.isLowerHexByte)
            else { throw DigestError.malformed(string) }
        }
        self.init(algorithm: algorithm, encoded: encoded)
    }

    /// Whether Kiln can recompute this digest from content (sha256 and sha512).
    public var isVerifiable: Bool { algorithm == "sha256" || algorithm == "sha512" }

    private init(algorithm: String, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    private static func isLowerHexByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a)
    }

    private static func isEncodedByte(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (byte >= 0x41 && byte <= 0x5a) || byte == UInt8(ascii: "=")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// `[a-z0-9]+([+._-][a-z0-9]+)*`: components of lowercase alphanumerics joined by single separators.
    private static func isAlgorithmGrammar(_ algorithm: String) -> Bool {
        var previousWasSeparator = true
        for byte in algorithm.utf8 {
            if isLowerAlphanumeric(byte) {
                previousWasSeparator = false
            } else if "+._-".utf8.contains(byte), !previousWasSeparator {
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return !previousWasSeparator
    }

    /// The sha256 digest of `bytes`.
    public static func sha256<Bytes: DataProtocol>(of bytes: Bytes) -> Digest {
        Digest(sha256Hash: SHA256.hash(data: bytes))
    }

    /// Wraps a finished SHA-256 hash.
    public init(sha256Hash hash: SHA256.Digest) {
        self.init(algorithm: "sha256", encoded: hash.hexString)
    }

    /// `algorithm:encoded`.
    public var description: String { "\(algorithm):\(encoded)" }

    /// Orders by the string form, for stable sorting.
    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    /// Decodes a strict `sha256:`/`sha512:` digest string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { self = try Digest(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a string is not a digest.
public enum DigestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not `algorithm:hex` of the right length and alphabet.
    case malformed(String)
    /// An algorithm other than sha256 or sha512.
    case unsupportedAlgorithm(String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .malformed(let s): return "invalid digest \"\(s)\": want sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
        case .unsupportedAlgorithm(let a): return "unsupported digest algorithm \"\(a)\""
        }
    }
}

/// Incremental SHA-256 over a stream, for hashing layers and blobs while they are written or read.
public struct DigestHasher: Sendable {
    private var hasher = SHA256()
    /// Bytes fed so far.
    public private(set) var byteCount: Int64 = 0

    /// Creates an empty hasher.
    public init() {}

    /// Feeds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        byteCount += Int64(bytes.count)
    }

    /// Feeds bytes.
    public mutating func update<Bytes: DataProtocol>(_ bytes: Bytes) {
        hasher.update(data: bytes)
        byteCount += Int64(bytes.count)
    }

    /// The digest of everything fed so far.
    public func finalize() -> Digest {
        Digest(sha256Hash: hasher.finalize())
    }
}

extension SHA256.Digest {
    fileprivate var hexString: String {
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
