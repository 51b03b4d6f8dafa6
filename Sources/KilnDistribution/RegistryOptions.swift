import Foundation
import KilnOCI
import KilnRegistry

/// Everything about talking to registries that a user configures: which hosts may use plain
/// HTTP, mirrors per registry, credentials, extra CA certificates, where the Docker config is.
public struct RegistryOptions: Sendable, Hashable {
    /// Hosts (`host[:port]`) that may be spoken to over plain HTTP. Loopback hosts always may.
    public var insecureRegistries: Set<String>
    /// Mirrors tried, in order, before the registry itself when pulling: registry host → mirrors.
    public var mirrors: [String: [RegistryMirror]]
    /// Credentials used for every registry instead of the Docker config (`--creds user:pass`).
    public var credentialsOverride: RegistryCredential?
    /// CA certificate files trusted in addition to the system's (PEM).
    public var caFiles: [URL]
    /// Where `/etc/docker/certs.d/<host>/ca.crt` lives; tests point it elsewhere.
    public var certificatesDirectory: URL
    /// The directory of the Docker `config.json` with `auths`; nil means `$DOCKER_CONFIG` or `~/.docker`.
    public var dockerConfigDirectory: URL?
    /// Retries and timeouts of every registry client.
    public var clientConfiguration: RegistryClient.Configuration
    /// Blob transfers in flight at once per image.
    public var maximumConcurrentTransfers: Int

    /// Creates options; the defaults talk to registries the way Docker does with no configuration.
    public init(
        insecureRegistries: Set<String> = [], mirrors: [String: [RegistryMirror]] = [:],
        credentialsOverride: RegistryCredential? = nil, caFiles: [URL] = [],
        certificatesDirectory: URL = URL(fileURLWithPath: "/etc/docker/certs.d"), dockerConfigDirectory: URL? = nil,
        clientConfiguration: RegistryClient.Configuration = .init(), maximumConcurrentTransfers: Int = 4
    ) {
        self.insecureRegistries = insecureRegistries
        self.mirrors = mirrors
        self.credentialsOverride = credentialsOverride
        self.caFiles = caFiles
        self.certificatesDirectory = certificatesDirectory
        self.dockerConfigDirectory = dockerConfigDirectory
        self.clientConfiguration = clientConfiguration
        self.maximumConcurrentTransfers = max(1, maximumConcurrentTransfers)
    }

    /// The mirrors of `registry`, in the order they are tried. `docker.io` is also found under
    /// the names people give it in configuration (`index.docker.io`, `registry-1.docker.io`).
    public func mirrors(of registry: String) -> [RegistryMirror] {
        if let list = mirrors[registry] { return list }
        guard registry == Reference.defaultRegistry else { return [] }
        return mirrors["index.docker.io"] ?? mirrors["registry-1.docker.io"] ?? []
    }

    /// Whether `host` may be spoken to over plain HTTP.
    public func allowsPlainHTTP(_ host: String) -> Bool {
        insecureRegistries.contains(host) || RegistryHost.isLoopback(host)
    }

    /// CA files for `host`: the `--ca-cert` ones and `<certificatesDirectory>/<host>/ca.crt` when present.
    public func caFiles(for host: String) -> [URL] {
        let perHost = certificatesDirectory.appendingPathComponent(host).appendingPathComponent("ca.crt")
        return caFiles + (FileManager.default.fileExists(atPath: perHost.path) ? [perHost] : [])
    }

    /// Whether `<certificatesDirectory>/<host>/ca.crt` exists: the host is then spoken to over HTTPS.
    public func hasHostCertificates(_ host: String) -> Bool {
        FileManager.default.fileExists(
            atPath: certificatesDirectory.appendingPathComponent(host).appendingPathComponent("ca.crt").path)
    }

    /// Where credentials come from: the override when set, else the Docker config.
    public func credentialProvider() throws -> any CredentialProvider {
        if let credentialsOverride { return OverridingCredentials(credential: credentialsOverride) }
        var environment = ProcessInfo.processInfo.environment
        if let dockerConfigDirectory { environment["DOCKER_CONFIG"] = dockerConfigDirectory.path }
        do { return try DockerConfig.load(environment: environment) } catch {
            throw RegistryOptionsError.invalid("\(DockerConfig.defaultURL(environment: environment).path): \(error)")
        }
    }

    /// The Docker `config.json` that `kiln login` and `kiln logout` edit.
    public var dockerConfigFile: DockerConfigFile {
        guard let dockerConfigDirectory else { return .standard() }
        return DockerConfigFile(url: dockerConfigDirectory.appendingPathComponent("config.json"))
    }
}

/// One credential for every registry: what `--creds user:pass` means.
struct OverridingCredentials: CredentialProvider {
    let credential: RegistryCredential

    func credential(for registry: String) async throws -> RegistryCredential? { credential }
}
