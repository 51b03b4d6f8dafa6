import KilnOCI

/// What the client was doing when a registry request failed, for error messages.
public enum RegistryOperation: String, Sendable, Hashable, CustomStringConvertible {
    /// `GET /v2/`.
    case ping = "ping"
    /// Fetching a bearer token from the registry's token service.
    case authenticate = "authenticate"
    /// `HEAD /v2/<name>/blobs/<digest>`.
    case blobExists = "check blob"
    /// `GET /v2/<name>/blobs/<digest>`.
    case fetchBlob = "fetch blob"
    /// An upload session: `POST`, `PATCH`, `PUT` under `/v2/<name>/blobs/uploads/`.
    case pushBlob = "push blob"
    /// `POST /v2/<name>/blobs/uploads/?mount=…&from=…`.
    case mountBlob = "mount blob"
    /// `DELETE /v2/<name>/blobs/<digest>`.
    case deleteBlob = "delete blob"
    /// `GET /v2/<name>/manifests/<reference>`.
    case fetchManifest = "fetch manifest"
    /// `HEAD /v2/<name>/manifests/<reference>`.
    case manifestExists = "check manifest"
    /// `PUT /v2/<name>/manifests/<reference>`.
    case pushManifest = "push manifest"
    /// `DELETE /v2/<name>/manifests/<digest>`.
    case deleteManifest = "delete manifest"
    /// `GET /v2/<name>/tags/list`.
    case listTags = "list tags"

    /// The text form shown to users.
    public var description: String { rawValue }
}

/// One entry of the distribution spec's error body, `{"errors": [{"code", "message", "detail"}]}`.
public struct RegistryErrorDetail: Sendable, Hashable, Decodable, CustomStringConvertible {
    /// The registry's error code (`BLOB_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, ...).
    public var code: String
    /// The registry's message.
    public var message: String

    /// Creates a detail.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    private enum CodingKeys: String, CodingKey { case code, message }

    /// Decodes one entry; a missing message becomes empty, since registries omit it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decodeIfPresent(String.self, forKey: .code) ?? "UNKNOWN"
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
    }

    /// `CODE: message`.
    public var description: String { message.isEmpty ? code : "\(code): \(message)" }
}

/// A failed registry operation, naming the registry, repository, operation and HTTP status, with
/// the registry's own error codes when it sent any.
public struct RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category of failure, for callers that react differently to each.
    public enum Kind: Sendable, Hashable {
        /// 401: no or wrong credentials.
        case unauthorized
        /// 403: the credentials are valid but not allowed to do this.
        case denied
        /// 404: the repository, blob or manifest does not exist.
        case notFound
        /// 429 after every retry.
        case tooManyRequests
        /// Any other status the operation does not expect.
        case unexpectedStatus
        /// The content's digest is not the one asked for.
        case digestMismatch(expected: Digest, actual: Digest)
        /// The content's length is not the one asked for.
        case sizeMismatch(expected: Int64, actual: Int64)
        /// The response breaks the protocol (missing header, malformed body, oversized manifest).
        case invalidResponse(String)
        /// The connection failed (refused, reset, timed out) after every retry.
        case transport(String)
    }

    /// The category of failure.
    public var kind: Kind
    /// The registry host as the user named it (`localhost:5000`, `docker.io`).
    public var registry: String
    /// The repository, when the operation had one.
    public var repository: String?
    /// What the client was doing.
    public var operation: RegistryOperation
    /// The HTTP status of the failing response, when there was one.
    public var status: Int?
    /// The registry's `errors[]`, when its body had them.
    public var details: [RegistryErrorDetail]

    /// Creates an error.
    public init(
        _ kind: Kind, registry: String, repository: String?, operation: RegistryOperation, status: Int? = nil,
        details: [RegistryErrorDetail] = []
    ) {
        self.kind = kind
        self.registry = registry
        self.repository = repository
        self.operation = operation
        self.status = status
        self.details = details
    }

    /// `registry/repository: operation: reason (HTTP status): CODE: message`.
    public var description: String {
        (repository.map { "\(registry)/\($0)" } ?? registry) + ": " + summary
    }

    /// The description without the `registry/repository: ` it starts with, for a message that
    /// already names the image: `operation failed: reason (HTTP status): CODE: message`.
    public var summary: String {
        var text = "\(operation) failed: \(reason)"
        if let status { text += " (HTTP \(status))" }
        if !details.isEmpty { text += ": " + details.map(\.description).joined(separator: "; ") }
        return text
    }

    private var reason: String {
        switch kind {
        case .unauthorized: return "authentication required or credentials rejected"
        case .denied: return "access denied"
        case .notFound: return "not found"
        case .tooManyRequests: return "too many requests"
        case .unexpectedStatus: return "unexpected response"
        case .digestMismatch(let expected, let actual): return "content digest \(actual) does not match \(expected)"
        case .sizeMismatch(let expected, let actual): return "content is \(actual) bytes, expected \(expected)"
        case .invalidResponse(let why): return "invalid response: \(why)"
        case .transport(let why): return "connection failed: \(why)"
        }
    }
}

extension RegistryError {
    /// Whether trying again may succeed: the connection failed, the registry was overloaded or
    /// briefly broken (5xx, 429), or an upload session lost track of its offset (416).
    var isTransient: Bool {
        switch kind {
        case .transport, .tooManyRequests: return true
        case .unexpectedStatus: return status.map { ($0 >= 500 && $0 != 501) || $0 == 416 } ?? false
        default: return false
        }
    }
}

extension RegistryError {
    /// Whether the registry refuses deletes altogether (HTTP 405, `UNSUPPORTED`), as the
    /// distribution registry does unless `storage.delete` is enabled.
    public var refusesDeletes: Bool {
        status == 405 || details.contains { $0.code == "UNSUPPORTED" }
    }
}
