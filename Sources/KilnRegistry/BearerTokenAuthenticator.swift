import AsyncHTTPClient
import Foundation
import KilnOCI
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The token half of the distribution auth protocol: exchanges a `Bearer` challenge and the
/// scopes a request needs for an access token at the challenge's realm, and caches each token per
/// scope set until shortly before it expires.
///
/// Concurrent requests for the same scopes share one token fetch.
actor BearerTokenAuthenticator {
    private struct CachedToken: Sendable {
        var token: String
        var expiry: ContinuousClock.Instant
    }

    private let registry: String
    private let httpClient: HTTPClient
    private let timeout: Duration
    private let retryPolicy: RetryPolicy
    private var cache: [String: CachedToken] = [:]
    private var inFlight: [String: Task<CachedToken, any Error>] = [:]

    /// Tokens are dropped this long before their stated expiry, so a request never carries one
    /// that lapses while it is in flight.
    private static let expiryMargin: Duration = .seconds(10)
    /// The lifetime the token spec assumes when `expires_in` is absent.
    private static let defaultLifetime: Duration = .seconds(60)

    init(registry: String, httpClient: HTTPClient, timeout: Duration, retryPolicy: RetryPolicy) {
        self.registry = registry
        self.httpClient = httpClient
        self.timeout = timeout
        self.retryPolicy = retryPolicy
    }

    /// A valid token for `scopes`, from the cache or freshly fetched.
    func token(challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?) async throws -> String {
        let key = Self.cacheKey(scopes)
        if let cached = cache[key], cached.expiry > .now { return cached.token }
        if let task = inFlight[key] { return try await task.value.token }
        let task = Task { [registry, httpClient, timeout, retryPolicy] in
            let request = try Self.tokenRequest(registry: registry, challenge: challenge, scopes: scopes, credential: credential)
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try await Self.exchange(request, registry: registry, httpClient: httpClient, timeout: timeout)
                } catch let failure as RegistryError where failure.isTransient && retryPolicy.allowsRetry(after: attempt) {
                    try await Task.sleep(for: retryPolicy.delay(after: attempt))
                }
            }
        }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let fetched = try await task.value
        cache[key] = fetched
        return fetched.token
    }

    /// Forgets the token for `scopes`, after the registry rejected it.
    func invalidate(scopes: [String]) {
        cache[Self.cacheKey(scopes)] = nil
    }

    private static func cacheKey(_ scopes: [String]) -> String { scopes.sorted().joined(separator: " ") }

    private static func failure(
        _ kind: RegistryError.Kind, registry: String, status: Int? = nil, details: [RegistryErrorDetail] = []
    ) -> RegistryError {
        RegistryError(kind, registry: registry, repository: nil, operation: .authenticate, status: status, details: details)
    }

    /// The token request for `scopes`: a GET with basic credentials, or the OAuth2 refresh-token POST.
    private static func tokenRequest(
        registry: String, challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?
    ) throws -> HTTPClientRequest {
        func failure(_ kind: RegistryError.Kind) -> RegistryError { Self.failure(kind, registry: registry) }
        guard let realm = challenge.realm, var components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), let host = components.host
        else { throw failure(.invalidResponse("bearer challenge without a usable realm")) }
        // Credentials go only over TLS, or to a token service on this machine.
        guard scheme == "https" || (scheme == "http" && RegistryHost.isLoopback(host)) else {
            throw failure(.invalidResponse("token realm \(realm) is neither https nor loopback"))
        }
        let requestScopes = scopes.isEmpty ? challenge.scopes : scopes
        var request: HTTPClientRequest
        if let refreshToken = credential?.identityToken {
            // OAuth2 refresh-token grant, as `docker login` identity tokens require.
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            var form = URLComponents()
            form.queryItems = [
                URLQueryItem(name: "grant_type", value: "refresh_token"),
                URLQueryItem(name: "service", value: challenge.service ?? ""),
                URLQueryItem(name: "client_id", value: "kiln"),
                URLQueryItem(name: "refresh_token", value: refreshToken),
                URLQueryItem(name: "scope", value: requestScopes.joined(separator: " ")),
            ]
            let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        } else {
            var items = components.queryItems ?? []
            if let service = challenge.service { items.append(URLQueryItem(name: "service", value: service)) }
            items += requestScopes.map { URLQueryItem(name: "scope", value: $0) }
            components.queryItems = items.isEmpty ? nil : items
            guard let url = components.string else { throw failure(.invalidResponse("cannot build token URL from \(realm)")) }
            request = HTTPClientRequest(url: url)
            if let credential { request.headers.add(name: "Authorization", value: credential.basicAuthorization) }
        }
        return request
    }

    /// Sends a token request and reads the token and its lifetime from the reply.
    private static func exchange(
        _ request: HTTPClientRequest, registry: String, httpClient: HTTPClient, timeout: Duration
    ) async throws -> CachedToken {
        func failure(_ kind: RegistryError.Kind, status: Int? = nil, details: [RegistryErrorDetail] = []) -> RegistryError {
            Self.failure(kind, registry: registry, status: status, details: details)
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: TimeAmount(timeout))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw failure(.transport(String(describing: error)))
        }
        guard response.status == .ok else {
            let kind: RegistryError.Kind
            switch response.status {
            case .unauthorized: kind = .unauthorized
            case .forbidden: kind = .denied
            case .tooManyRequests: kind = .tooManyRequests
            default: kind = .unexpectedStatus
            }
            throw failure(kind, status: Int(response.status.code), details: ErrorBody.details(in: body))
        }
        struct TokenReply: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Int?
        }
        guard let reply = try? JSONDecoder().decode(TokenReply.self, from: Data(buffer: body)),
              let token = reply.token ?? reply.access_token, !token.isEmpty
        else { throw failure(.invalidResponse("token service reply has no token")) }
        let lifetime = reply.expires_in.map { Duration.seconds(max($0, 0)) } ?? defaultLifetime
        return CachedToken(token: token, expiry: .now + max(lifetime - expiryMargin, .zero))
    }
}
