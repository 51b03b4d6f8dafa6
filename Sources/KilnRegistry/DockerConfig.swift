import Foundation

/// Credentials the way the Docker CLI keeps them: `config.json` in `$DOCKER_CONFIG` or
/// `~/.docker`, with `auths` entries (base64 `auth`, or `username`/`password`, or
/// `identitytoken`), a default `credsStore` and per-registry `credHelpers`, both run as
/// `docker-credential-<name> get`.
public struct DockerConfig: CredentialProvider, Hashable {
    /// One `auths` entry.
    public struct AuthEntry: Sendable, Hashable, Decodable {
        /// base64 of `username:password`.
        public var auth: String?
        /// The user name, when stored split.
        public var username: String?
        /// The password, when stored split.
        public var password: String?
        /// An OAuth2 refresh token from `docker login` against a token service.
        public var identitytoken: String?
    }

    /// `auths`, keyed as Docker writes them (`host`, `https://host/`, `https://index.docker.io/v1/`).
    public var auths: [String: AuthEntry]
    /// The helper for every registry without its own (`credsStore`).
    public var credsStore: String?
    /// Helpers per registry host (`credHelpers`).
    public var credHelpers: [String: String]
    /// Where `docker-credential-*` helpers are looked up; the process's `PATH` by default.
    public var helperSearchPath: [String]

    private enum CodingKeys: String, CodingKey { case auths, credsStore, credHelpers }

    /// Creates a configuration from its parts.
    public init(
        auths: [String: AuthEntry] = [:], credsStore: String? = nil, credHelpers: [String: String] = [:],
        helperSearchPath: [String] = DockerConfig.processSearchPath
    ) {
        self.auths = auths
        self.credsStore = credsStore
        self.credHelpers = credHelpers
        self.helperSearchPath = helperSearchPath
    }

    /// Parses `config.json` bytes; unknown keys (`proxies`, `plugins`, ...) are ignored.
    public init(data: Data, helperSearchPath: [String] = DockerConfig.processSearchPath) throws {
        struct File: Decodable {
            var auths: [String: AuthEntry]?
            var credsStore: String?
            var credHelpers: [String: String]?
        }
        let file = try JSONDecoder().decode(File.self, from: data)
        self.init(
            auths: file.auths ?? [:], credsStore: file.credsStore, credHelpers: file.credHelpers ?? [:],
            helperSearchPath: helperSearchPath)
    }

    /// The file Docker reads: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    public static func defaultURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty {
            return URL(fileURLWithPath: directory).appendingPathComponent("config.json")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".docker/config.json")
    }

    /// Loads the default file; a missing file is an empty configuration, as for Docker.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DockerConfig {
        let url = defaultURL(environment: environment)
        guard FileManager.default.fileExists(atPath: url.path) else { return DockerConfig() }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return try DockerConfig(data: Data(contentsOf: url), helperSearchPath: path)
    }

    /// The directories of this process's `PATH`.
    public static var processSearchPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    }

    /// The credential for `registry`: its `credHelpers` entry, else a stored `auths` entry, else `credsStore`.
    public func credential(for registry: String) async throws -> RegistryCredential? {
        if let helper = credHelpers[registry] {
            return try await CredentialHelper(name: helper, searchPath: helperSearchPath).get(serverURL: registry)
        }
        for key in DockerConfig.authKeys(for: registry) {
            if let entry = auths[key], let credential = try entry.credential(registry: registry) { return credential }
        }
        if let credsStore, !credsStore.isEmpty {
            // Docker stores Hub credentials in helpers under the v1 index URL, other hosts under their name.
            let server = registry == "docker.io" ? DockerConfig.dockerHubIndex : registry
            return try await CredentialHelper(name: credsStore, searchPath: helperSearchPath).get(serverURL: server)
        }
        return nil
    }

    /// The key Docker uses for Docker Hub.
    static let dockerHubIndex = "https://index.docker.io/v1/"

    /// The `auths` keys that may name `registry`, in the order Docker tries them.
    static func authKeys(for registry: String) -> [String] {
        if registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io" {
            return [dockerHubIndex, "index.docker.io", "docker.io", "https://index.docker.io", "registry-1.docker.io"]
        }
        return [registry, "https://\(registry)", "https://\(registry)/", "http://\(registry)", "http://\(registry)/",
                "https://\(registry)/v1/", "https://\(registry)/v2/"]
    }
}

extension DockerConfig.AuthEntry {
    /// The credential this entry holds, or nil when it is empty (a helper-only placeholder).
    func credential(registry: String) throws -> RegistryCredential? {
        if let token = identitytoken, !token.isEmpty { return RegistryCredential(identityToken: token) }
        if let auth, !auth.isEmpty {
            guard let decoded = Data(base64Encoded: auth), let text = String(data: decoded, encoding: .utf8),
                  let colon = text.firstIndex(of: ":")
            else { throw DockerConfigError.malformedAuth(registry: registry) }
            return RegistryCredential(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        if let username, !username.isEmpty { return RegistryCredential(username: username, password: password ?? "") }
        return nil
    }
}

/// Why credentials could not be read from the Docker configuration.
public enum DockerConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An `auths` entry whose `auth` is not base64 of `user:password`.
    case malformedAuth(registry: String)
    /// `docker-credential-<name>` is not on the search path.
    case helperNotFound(String)
    /// The helper failed for a reason other than "no credentials".
    case helperFailed(helper: String, status: Int32, message: String)
    /// The helper printed something other than `{"Username", "Secret"}`.
    case helperOutputMalformed(helper: String)
    /// The file is not a JSON object, or could not be written.
    case malformed(String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .malformedAuth(let registry):
            return "docker config: auths[\"\(registry)\"].auth is not base64 of user:password"
        case .helperNotFound(let name): return "credential helper docker-credential-\(name) not found in PATH"
        case .helperFailed(let helper, let status, let message):
            return "credential helper \(helper) exited with status \(status): \(message)"
        case .helperOutputMalformed(let helper): return "credential helper \(helper) printed malformed JSON"
        case .malformed(let why): return "docker config: \(why)"
        }
    }
}
