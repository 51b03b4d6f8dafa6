import Foundation

/// A token service for the registry's `auth: token` mode: a small Python (stdlib +
/// `cryptography`) server on a free loopback port that signs RS256 JWTs with a fresh
/// self-signed certificate. Basic credentials or the refresh token get every action asked
/// for; anonymous callers get `pull` only. Every token request is appended to `token.log`.
public final class TestTokenServer: Sendable {
    /// Whether `python3` with the `cryptography` module is installed.
    public static let isAvailable = TestRegistryPythonServer.isAvailable(modules: ["cryptography.x509"])

    /// The `service` tokens are issued for.
    public let service = "kiln-test-registry"
    /// The `iss` claim of its tokens.
    public let issuer = "kiln-test-issuer"
    private let server: TestRegistryPythonServer

    /// The loopback port it listens on.
    public var port: Int { server.port }
    /// The token endpoint.
    public var realm: String { "http://127.0.0.1:\(port)/token" }
    /// The certificate whose key signs the tokens, for the registry's `rootcertbundle`.
    public var certificateBundle: URL { server.directory.appendingPathComponent("token-bundle.pem") }

    private init(server: TestRegistryPythonServer) {
        self.server = server
    }

    /// The registry auth that trusts this server, sending clients to `realm` (this server's
    /// endpoint unless a proxy stands in front of it).
    public func registryAuth(realm: String? = nil) -> TestRegistry.Auth {
        .token(realm: realm ?? self.realm, service: service, issuer: issuer, certificateBundle: certificateBundle)
    }

    /// Starts a server accepting `username`/`password` and the OAuth2 `refreshToken`, announcing
    /// `tokenLifetime` seconds in `expires_in` (the JWTs themselves stay valid for at least a minute).
    public static func start(
        username: String, password: String, refreshToken: String, tokenLifetime: Int = 300
    ) async throws -> TestTokenServer {
        let server = try await TestRegistryPythonServer.start(
            name: "token-server", source: pythonSource,
            arguments: { port, directory in
                [
                    String(port), directory.path, username, password, "kiln-test-issuer", "kiln-test-registry", refreshToken,
                    String(tokenLifetime),
                ]
            },
            ready: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("token-bundle.pem").path) })
        return TestTokenServer(server: server)
    }

    /// Token requests so far, one line each: `METHOD who scope…` (`who` is the user,
    /// `anonymous`, `refresh` or `rejected`).
    public func tokenRequests() -> [String] { server.lines(of: "token.log") }

    /// Terminates the server and removes its folder.
    public func stop() async { await server.stop() }

    private static let pythonSource = #"""
import base64, datetime, json, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, padding

port, directory, username, password, issuer, service, refresh = sys.argv[1:8]
lifetime = int(sys.argv[8])
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiln-test-token-issuer")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
with open(directory + "/token-bundle.pem", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
log_lock = threading.Lock()

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def sign(access):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [der]}
    issued = int(time.time())
    claims = {"iss": issuer, "sub": username, "aud": service, "exp": issued + max(lifetime, 60), "nbf": issued - 10,
              "iat": issued, "jti": str(uuid.uuid4()), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)

def grant(scopes, full):
    access = []
    for scope in scopes:
        for item in scope.split(" "):
            parts = item.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            actions = parts[2].split(",")
            if not full:
                actions = [a for a in actions if a == "pull"]
            access.append({"type": "repository", "name": parts[1], "actions": actions})
    return access

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, who, scopes):
        with log_lock:
            with open(directory + "/token.log", "a") as f:
                f.write("%s %s %s\n" % (self.command, who, " ".join(scopes)))

    def issue(self, scopes, full, who):
        self.record(who, scopes)
        token = sign(grant(scopes, full))
        self.reply(200, {"token": token, "access_token": token, "expires_in": lifetime,
                         "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        scopes = query.get("scope", [])
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            if user != username or secret != password:
                self.record("rejected", scopes)
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            return self.issue(scopes, True, user)
        self.issue(scopes, False, "anonymous")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        scopes = form.get("scope", [""])[0].split(" ")
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [refresh]:
            self.record("rejected", scopes)
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad refresh token"}]})
        self.issue(scopes, True, "refresh")

ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"""#
}

/// Runs `body` with a token server and stops it afterwards.
public func withTokenServer<T>(
    username: String, password: String, refreshToken: String, tokenLifetime: Int = 300,
    _ body: (TestTokenServer) async throws -> T
) async throws -> T {
    let server = try await TestTokenServer.start(
        username: username, password: password, refreshToken: refreshToken, tokenLifetime: tokenLifetime)
    return try await withStopping(server, stop: { await $0.stop() }, body)
}

/// Runs `body` with a token server and a registry that trusts it, stopping both afterwards.
public func withTokenAuthRegistry<T>(
    username: String, password: String, refreshToken: String, tokenLifetime: Int = 300,
    _ body: (TestRegistry, TestTokenServer) async throws -> T
) async throws -> T {
    try await withTokenServer(
        username: username, password: password, refreshToken: refreshToken, tokenLifetime: tokenLifetime
    ) { server in
        try await withTestRegistry(auth: server.registryAuth()) { registry in try await body(registry, server) }
    }
}
