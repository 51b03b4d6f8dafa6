import Foundation

/// What the client presents to a registry: a user name and password (or token used as one), or an
/// identity token that the token service exchanges for access tokens (OAuth2 refresh token).
public struct RegistryCredential: Sendable, Hashable {
    /// The user name; empty for an identity token.
    public var username: String
    /// The password or personal access token; empty for an identity token.
    public var password: String
    /// An OAuth2 refresh token, as `docker login` stores in `identitytoken`.
    public var identityToken: String?

    /// A user name and password.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
        self.identityToken = nil
    }

    /// An identity (refresh) token.
    public init(identityToken: String) {
        self.username = ""
        self.password = ""
        self.identityToken = identityToken
    }

    /// The `Authorization` value for HTTP basic authentication.
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// A source of credentials per registry host (`localhost:5000`, `docker.io`).
public protocol CredentialProvider: Sendable {
    /// The credential for `registry`, or nil to go anonymous.
    func credential(for registry: String) async throws -> RegistryCredential?
}

/// Fixed credentials per registry host, for callers that take them from flags or the environment.
public struct StaticCredentials: CredentialProvider {
    /// Credentials keyed by registry host.
    public var credentials: [String: RegistryCredential]

    /// Creates a provider from a host → credential map.
    public init(_ credentials: [String: RegistryCredential]) {
        self.credentials = credentials
    }

    /// The credential stored for `registry`.
    public func credential(for registry: String) async throws -> RegistryCredential? {
        credentials[registry]
    }
}
