import AsyncHTTPClient
import Foundation
import KilnOCI
import NIOCore

/// A client for one registry host, speaking the OCI distribution spec: blobs, uploads, mounts,
/// manifests and tags, with anonymous, basic and bearer-token auth, retries and timeouts.
///
/// Loopback registries (`localhost:5000`, `127.0.0.1:…`) are spoken to over plain HTTP, as Docker
/// does; every other host over HTTPS with certificate verification. All clients share one
/// process-wide connection pool (``sharedHTTPClient``) unless given their own `HTTPClient`.
public actor RegistryClient {
    /// Tunables of a client.
    public struct Configuration: Sendable, Hashable {
        /// Retries of requests that failed transiently.
        public var retryPolicy: RetryPolicy
        /// How long a request may take until its response head arrives (bodies excluded).
        public var requestTimeout: Duration
        /// The slowest upload rate tolerated, stretching the timeout of requests with a body.
        public var minimumUploadRate: Int64
        /// Blobs up to this size are uploaded in one `PUT`; larger ones in `PATCH` chunks.
        public var monolithicUploadLimit: Int64
        /// The size of each `PATCH` of a chunked upload.
        public var uploadChunkSize: Int64
        /// The largest manifest or index accepted, as containerd and the registry limit it (4 MiB).
        public var maximumManifestSize: Int
        /// Forces plain HTTP (true) or HTTPS (false); nil picks HTTP for loopback hosts only.
        public var plainHTTP: Bool?

        /// Creates a configuration; the defaults suit a builder on a typical network.
        public init(
            retryPolicy: RetryPolicy = .standard, requestTimeout: Duration = .seconds(60),
            minimumUploadRate: Int64 = 64 << 10, monolithicUploadLimit: Int64 = 16 << 20,
            uploadChunkSize: Int64 = 16 << 20, maximumManifestSize: Int = 4 << 20, plainHTTP: Bool? = nil
        ) {
            self.retryPolicy = retryPolicy
            self.requestTimeout = requestTimeout
            self.minimumUploadRate = max(1, minimumUploadRate)
            self.monolithicUploadLimit = monolithicUploadLimit
            self.uploadChunkSize = max(1, uploadChunkSize)
            self.maximumManifestSize = maximumManifestSize
            self.plainHTTP = plainHTTP
        }
    }

    /// The connection pool every client uses by default: redirects handled by the client itself
    /// (so credentials never follow a redirect to another host), no transparent decompression
    /// (layers must arrive byte for byte), 15 s to connect, 60 s of silence ends a transfer.
    /// A connection that cannot be made fails the request at once instead of being retried by the
    /// pool until the request's deadline: ``send(_:)`` decides what is retried, with its bounded
    /// back-off, so a refused connection fails in seconds, not minutes.
    ///
    /// It lives as long as the process; call ``shutdownSharedHTTPClient()`` once on the way out.
    public static let sharedHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: defaultHTTPConfiguration)

    /// Closes the shared pool's connections. Call once, when the process is done with registries.
    public static func shutdownSharedHTTPClient() async throws {
        try await sharedHTTPClient.shutdown()
    }

    /// The `HTTPClient` configuration of ``sharedHTTPClient``, for callers that bring their own pool.
    public static var defaultHTTPConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(15), read: .seconds(60)),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// The registry as references name it (`localhost:5000`, `docker.io`); credentials are looked up by it.
    public nonisolated let registry: String
    /// `scheme://host` of the registry API (`https://registry-1.docker.io` for Docker Hub).
    public nonisolated let baseURL: String
    /// The client's tunables.
    public nonisolated let configuration: Configuration

    nonisolated let httpClient: HTTPClient
    private let credentials: (any CredentialProvider)?
    private let tokens: BearerTokenAuthenticator
    /// What the registry asked for on its last 401; requests carry matching credentials from then on.
    private var authScheme: AuthScheme = .anonymous
    private var credential: RegistryCredential??

    enum AuthScheme: Sendable {
        case anonymous
        case basic
        case bearer(AuthChallenge)
    }

    /// Creates a client for `registry` (a host with optional port, as in a reference).
    public init(
        registry: String, credentials: (any CredentialProvider)? = nil, configuration: Configuration = .init(),
        httpClient: HTTPClient? = nil
    ) {
        self.registry = registry
        let apiHost = registry == Reference.defaultRegistry ? "registry-1.docker.io" : registry
        let plain = configuration.plainHTTP ?? RegistryHost.isLoopback(apiHost)
        self.baseURL = (plain ? "http://" : "https://") + apiHost
        self.configuration = configuration
        self.credentials = credentials
        let client = httpClient ?? RegistryClient.sharedHTTPClient
        self.httpClient = client
        self.tokens = BearerTokenAuthenticator(
            registry: registry, httpClient: client, timeout: configuration.requestTimeout,
            retryPolicy: configuration.retryPolicy)
    }

    /// Creates a client for the registry of `reference`.
    public init(
        for reference: Reference, credentials: (any CredentialProvider)? = nil, configuration: Configuration = .init(),
        httpClient: HTTPClient? = nil
    ) {
        self.init(registry: reference.registry, credentials: credentials, configuration: configuration, httpClient: httpClient)
    }

    /// Checks that the registry speaks the v2 API and that the client may talk to it
    /// (`GET /v2/`, authenticating if asked).
    public func ping() async throws {
        let request = RegistryRequest(method: .GET, url: baseURL + "/v2/", operation: .ping, repository: nil, scopes: [])
        let response = try await send(request)
        try await expect(response, [.ok], for: request)
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    /// The `Authorization` value for a request needing `scopes`, learning the credential on first use.
    func authorization(for scopes: [String]) async throws -> String? {
        switch authScheme {
        case .anonymous:
            return nil
        case .basic:
            return try await loadCredential()?.basicAuthorization
        case .bearer(let challenge):
            let token = try await tokens.token(challenge: challenge, scopes: scopes, credential: try await loadCredential())
            return "Bearer " + token
        }
    }

    /// Adopts the scheme of a 401's challenge; false when there is nothing new to try.
    func adopt(challenge: AuthChallenge, scopes: [String]) async throws -> Bool {
        switch challenge.scheme {
        case "basic":
            guard try await loadCredential() != nil else { return false }
            if case .basic = authScheme { return false }
            authScheme = .basic
            return true
        case "bearer":
            await tokens.invalidate(scopes: scopes)
            authScheme = .bearer(challenge)
            return true
        default:
            return false
        }
    }

    /// Whether the client holds a credential for this registry.
    func hasCredential() async throws -> Bool { try await loadCredential() != nil }

    private func loadCredential() async throws -> RegistryCredential? {
        if let credential { return credential }
        let loaded = try await credentials?.credential(for: registry)
        credential = .some(loaded)
        return loaded
    }

    /// The URL of a repository-relative API path: `/v2/<repository>/<path>`.
    nonisolated func url(_ repository: String, _ path: String) -> String {
        "\(baseURL)/v2/\(repository)/\(path)"
    }
}
