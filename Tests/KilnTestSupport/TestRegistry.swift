#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A real CNCF distribution registry (`docker-registry` from Debian) on a free loopback port,
/// with its own storage and config in a temporary folder, for tests that need a registry.
///
/// Start one with ``withTestRegistry(auth:_:)``, which always stops it: the process is
/// terminated and the folder removed. Tests skip only when the binary is truly absent
/// (``TestRegistry/isAvailable``).
public final class TestRegistry: @unchecked Sendable {
    /// How clients must authenticate.
    public enum Auth: Sendable {
        /// Anyone may pull and push.
        case open
        /// HTTP basic auth against one htpasswd (bcrypt) user.
        case basic(username: String, password: String)
        /// The token protocol: the registry trusts tokens signed by `certificateBundle`'s key,
        /// issued by `issuer` for `service`, and sends clients to `realm` for them.
        case token(realm: String, service: String, issuer: String, certificateBundle: URL)
    }

    /// A certificate and key (PEM) the registry serves HTTPS with instead of plain HTTP.
    public struct TLS: Sendable {
        /// The server certificate, valid for `127.0.0.1`.
        public var certificate: URL
        /// Its private key.
        public var key: URL

        /// A certificate and key pair.
        public init(certificate: URL, key: URL) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// The registry binary: `$KILN_DOCKER_REGISTRY`, else `/usr/bin/docker-registry`.
    public static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["KILN_DOCKER_REGISTRY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: "/usr/bin/docker-registry")
    }()

    /// Whether the registry binary is installed; tests that need it are disabled otherwise.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    /// Why registry tests are skipped, for `.enabled(if:_:)`.
    public static let unavailableReason = "docker-registry is not installed (apt-get install docker-registry)"

    /// The loopback port it listens on.
    public let port: Int
    /// `127.0.0.1:<port>`, the registry part of references.
    public var host: String { "127.0.0.1:\(port)" }
    /// The temporary folder holding config, storage and log.
    public let directory: URL
    /// The registry's combined output: its own log and the access log, one line per request.
    public var logURL: URL { directory.appendingPathComponent("registry.log") }

    private let process: Process

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts a registry and waits until `/v2/` answers.
    /// `deletes: false` configures it as registries that refuse `DELETE` are (405 UNSUPPORTED).
    public static func start(auth: Auth = .open, tls: TLS? = nil, deletes: Bool = true) async throws -> TestRegistry {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            // Another process may take the probed port before the registry binds it; try a few.
            var lastError: (any Error)?
            for _ in 0..<5 {
                let port = try freePort()
                try writeConfig(port: port, auth: auth, tls: tls, deletes: deletes, directory: directory)
                let process = try launch(
                    binary, ["serve", directory.appendingPathComponent("config.yml").path],
                    log: directory.appendingPathComponent("registry.log"))
                let registry = TestRegistry(port: port, directory: directory, process: process)
                do {
                    try await registry.waitUntilReady()
                    return registry
                } catch {
                    await terminate(process)
                    lastError = error
                }
            }
            throw lastError ?? TestRegistryError.notReady(log: "")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Terminates the registry and removes its folder.
    public func stop() async {
        await Self.terminate(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The registry's log so far.
    public func log() -> String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    /// How many requests with `method` whose path contains `path` the access log lists, e.g.
    /// `requestCount("GET", path: "/blobs/sha256:")`.
    public func requestCount(_ method: String, path: String) -> Int {
        log().split(separator: "\n").filter { line in
            guard let request = line.range(of: "\"\(method) ") else { return false }
            let rest = line[request.upperBound...]
            let target = rest.prefix { $0 != " " }
            return target.contains(path)
        }.count
    }

    /// Starts `executable` with stdin empty and stdout and stderr going to the file `log`,
    /// with this process's environment plus `environment`.
    static func launch(
        _ executable: URL, _ arguments: [String], log: URL, environment: [String: String] = [:]
    ) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Ends `process`: SIGTERM, then SIGKILL if it is still there after 5 s. Waits by polling
    /// so that no thread of the cooperative pool blocks on it.
    static func terminate(_ process: Process) async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<250 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    private func waitUntilReady() async throws {
        for _ in 0..<400 {
            guard process.isRunning else { throw TestRegistryError.exited(log: log()) }
            // An HTTPS registry answers the plain-HTTP probe with 400.
            if let status = Self.probe(port: port), status == 200 || status == 401 || status == 400 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestRegistryError.notReady(log: log())
    }

    /// The status of `GET /v2/` on the port, or nil when nothing answers yet.
    static func probe(port: Int) -> Int? {
        guard let socket = connectedSocket(port: port) else { return nil }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 64)
        let count = recv(socket, &reply, reply.count, 0)
        guard count > 12 else { return nil }
        let line = String(decoding: reply[0..<count], as: UTF8.self)
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// Whether something accepts connections on the loopback port.
    public static func isListening(port: Int) -> Bool {
        guard let socket = connectedSocket(port: port) else { return false }
        close(socket)
        return true
    }

    private static func connectedSocket(port: Int) -> Int32? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            return nil
        }
        return socket
    }

    /// A loopback port nothing is bound to right now, never handed out before in this process.
    ///
    /// It comes from below the kernel's ephemeral range (32768 and up), so no client
    /// connection's local port can take it between this probe and the server's bind, and two
    /// servers of parallel tests never get the same one. Servers still bind it later, so
    /// another process may take it first: starters check that their own process answers.
    public static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_768)
            guard PortLedger.shared.claim(candidate) else { continue }
            if canBind(port: candidate) { return candidate }
        }
        throw TestRegistryError.noPort
    }

    private static func canBind(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = loopbackAddress(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    private static func writeConfig(port: Int, auth: Auth, tls: TLS?, deletes: Bool, directory: URL) throws {
        let storage = directory.appendingPathComponent("storage")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        var config = """
            version: 0.1
            log:
              level: info
              formatter: text
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(storage.path)
              delete:
                enabled: \(deletes)
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:\(port)
              secret: kiln-test-\(UUID().uuidString)

            """
        if let tls {
            config += """
                  tls:
                    certificate: \(tls.certificate.path)
                    key: \(tls.key.path)

                """
        }
        switch auth {
        case .open:
            break
        case .basic(let username, let password):
            let file = directory.appendingPathComponent("htpasswd")
            try Data(try htpasswdLine(username: username, password: password).utf8).write(to: file)
            config += """
                auth:
                  htpasswd:
                    realm: kiln-test
                    path: \(file.path)

                """
        case .token(let realm, let service, let issuer, let bundle):
            config += """
                auth:
                  token:
                    realm: \(realm)
                    service: \(service)
                    issuer: \(issuer)
                    rootcertbundle: \(bundle.path)

                """
        }
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.yml"))
    }

    /// A bcrypt htpasswd line, from `htpasswd -B` (apache2-utils) — the only hash the registry takes.
    private static func htpasswdLine(username: String, password: String) throws -> String {
        let tool = ["/usr/bin/htpasswd", "/usr/sbin/htpasswd"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tool else { throw TestRegistryError.noHtpasswd }
        let result = try ProcessRunner.run(URL(fileURLWithPath: tool), ["-nbB", username, password])
        guard result.status == 0 else { throw TestRegistryError.noHtpasswd }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
    }
}

/// Why a test registry did not start.
public enum TestRegistryError: Error, CustomStringConvertible {
    /// The process ended before answering.
    case exited(log: String)
    /// It did not answer within 20 s.
    case notReady(log: String)
    /// No free loopback port could be found.
    case noPort
    /// `htpasswd` (apache2-utils) is missing, so no basic-auth user can be made.
    case noHtpasswd

    /// The text form shown in test failures.
    public var description: String {
        switch self {
        case .exited(let log): return "docker-registry exited during start-up:\n\(log)"
        case .notReady(let log): return "docker-registry did not answer /v2/ in time:\n\(log)"
        case .noPort: return "no free loopback port"
        case .noHtpasswd: return "htpasswd not found: apt-get install apache2-utils"
        }
    }
}

/// Runs `body` with a fresh registry and stops it afterwards, whether `body` returns or throws.
public func withTestRegistry<T>(
    auth: TestRegistry.Auth = .open, tls: TestRegistry.TLS? = nil, deletes: Bool = true, _ body: (TestRegistry) async throws -> T
) async throws -> T {
    try await withStopping(try await TestRegistry.start(auth: auth, tls: tls, deletes: deletes), stop: { await $0.stop() }, body)
}

/// Runs `body` with `fixture`, then `stop`s it whether `body` returns or throws.
public func withStopping<Fixture, T>(
    _ fixture: Fixture, stop: (Fixture) async -> Void, _ body: (Fixture) async throws -> T
) async throws -> T {
    do {
        let result = try await body(fixture)
        await stop(fixture)
        return result
    } catch {
        await stop(fixture)
        throw error
    }
}

/// The ports ``TestRegistry/freePort()`` has handed out in this process.
private final class PortLedger: @unchecked Sendable {
    static let shared = PortLedger()
    private let lock = NSLock()
    private var claimed: Set<Int> = []

    /// Whether `port` was free to claim (and is now claimed).
    func claim(_ port: Int) -> Bool {
        lock.withLock { claimed.insert(port).inserted }
    }
}
