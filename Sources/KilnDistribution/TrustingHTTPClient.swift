import AsyncHTTPClient
import Foundation
import KilnRegistry
import NIOSSL

/// A connection pool of its own for a registry whose certificates chain to extra CAs (a
/// `--ca-cert` file, `/etc/docker/certs.d/<host>/ca.crt`), on top of the system's roots.
/// Shut down when the last reference goes, so owners need no explicit teardown.
final class TrustingHTTPClient: Sendable {
    let client: HTTPClient

    init(trusting caFiles: [URL]) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = caFiles.map { .file($0.path) }
        var configuration = RegistryClient.defaultHTTPConfiguration
        configuration.tlsConfiguration = tls
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    deinit {
        try? client.syncShutdown()
    }
}
