import AsyncHTTPClient
import KilnOCI
import KilnRegistry

/// One ``RegistryClient`` per registry host, made from ``RegistryOptions``, so that every
/// pull, push and copy in a process shares each registry's tokens and connections.
public actor RegistryPool {
    /// The options every client is made from.
    public nonisolated let options: RegistryOptions
    private let credentials: any CredentialProvider
    private var clients: [String: RegistryClient] = [:]
    /// Pools of hosts with extra CAs, kept alive as long as their clients.
    private var trustingHTTPClients: [TrustingHTTPClient] = []
    /// Mirrors that could not be reached: skipped for the rest of the pool's life.
    private var unreachableMirrors: Set<String> = []

    /// A pool for `options`; reads the Docker config (unless credentials are overridden) once, now.
    public init(options: RegistryOptions) throws {
        self.options = options
        self.credentials = try options.credentialProvider()
    }

    /// The client of `host` (`host[:port]` as references name it), made on first use.
    public func client(for host: String) -> RegistryClient {
        if let client = clients[host] { return client }
        var configuration = options.clientConfiguration
        if options.allowsPlainHTTP(host) { configuration.plainHTTP = true }
        // A CA configured for this very host says it speaks TLS, even on loopback.
        if options.hasHostCertificates(host) { configuration.plainHTTP = false }
        var httpClient: HTTPClient?
        let trust = options.caFiles(for: host)
        if !trust.isEmpty {
            let trusting = TrustingHTTPClient(trusting: trust)
            trustingHTTPClients.append(trusting)
            httpClient = trusting.client
        }
        if isMirror(host) {
            // A mirror that is down or failing should cost a moment, not the full back-off: the origin is next.
            // The connection pool keeps retrying a refused connect until the request's deadline,
            // so the deadline is what bounds it.
            configuration.retryPolicy = .none
            configuration.requestTimeout = min(configuration.requestTimeout, .seconds(5))
        }
        let client = RegistryClient(registry: host, credentials: credentials, configuration: configuration,
                                    httpClient: httpClient)
        clients[host] = client
        return client
    }

    /// Where to look for `reference`'s repository, in order: each mirror of its registry, then the registry.
    public func endpoints(for reference: Reference) -> [RegistryEndpoint] {
        let mirrors = options.mirrors(of: reference.registry).filter { !unreachableMirrors.contains($0.host) }.map { mirror in
            RegistryEndpoint(client: client(for: mirror.host), repository: mirror.repository(for: reference.repository),
                             isMirror: true)
        }
        return mirrors + [RegistryEndpoint(client: client(for: reference.registry), repository: reference.repository,
                                           isMirror: false)]
    }

    /// Records that the mirror `host` failed to connect, so later requests go straight past it.
    public func markUnreachable(mirror host: String) {
        unreachableMirrors.insert(host)
    }

    private func isMirror(_ host: String) -> Bool {
        options.mirrors.values.contains { $0.contains { $0.host == host } }
    }
}

/// A repository on a registry or on one of its mirrors.
public struct RegistryEndpoint: Sendable {
    /// The client of the registry or mirror.
    public var client: RegistryClient
    /// The repository there (prefixed on a mirror).
    public var repository: String
    /// Whether this is a mirror, whose failures mean "try the next one".
    public var isMirror: Bool

    /// `host/repository`, for messages.
    public var name: String { client.registry + "/" + repository }
}
