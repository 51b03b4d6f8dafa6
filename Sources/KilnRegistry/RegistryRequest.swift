import Foundation
import AsyncHTTPClient
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One registry API call as the transport retries it: everything needed to send it again.
struct RegistryRequest: Sendable {
    /// A body that can be produced afresh for every attempt.
    enum Body: Sendable {
        case none
        case bytes(ByteBuffer)
        /// `length` bytes of the file at `path` from `offset`, streamed, never held in memory.
        case file(path: String, offset: Int64, length: Int64)
        /// `length` bytes from a one-shot byte stream (a blob arriving from another registry):
        /// it cannot be produced again, so requests with it are never retried.
        case stream(@Sendable () -> HTTPClientRequest.Body, length: Int64)

        var length: Int64 {
            switch self {
            case .none: return 0
            case .bytes(let buffer): return Int64(buffer.readableBytes)
            case .file(_, _, let length): return length
            case .stream(_, let length): return length
            }
        }
    }

    var method: HTTPMethod
    var url: String
    var operation: RegistryOperation
    var repository: String?
    /// The token scopes the call needs (`repository:name:pull`).
    var scopes: [String]
    var headers: HTTPHeaders = [:]
    var body: Body = .none
    /// Whether the transport retries transient failures itself; off where the caller must
    /// first learn how far the registry got (a `PATCH` of a chunked upload).
    var retries = true
    /// Whether 3xx responses are followed (blob downloads are redirected to storage).
    var followsRedirects = false
}

/// The distribution spec's error body, `{"errors": [...]}`.
enum ErrorBody {
    /// The `errors[]` of `body`, or none when it is not such a document.
    static func details(in body: ByteBuffer) -> [RegistryErrorDetail] {
        struct Document: Decodable { var errors: [RegistryErrorDetail]? }
        guard body.readableBytes > 0, let document = try? JSONDecoder().decode(Document.self, from: body) else { return [] }
        return document.errors ?? []
    }
}
