import Foundation

/// A Docker daemon of the test's own (Debian's `docker.io`): data root, exec root, pid file and
/// socket in a temporary directory, no bridge, no iptables, its own managed containerd under
/// its exec root, the test registry marked insecure. The client is Debian's `/usr/bin/docker`
/// with a private `DOCKER_CONFIG`, so no system daemon or user configuration is involved.
public struct PrivateDockerDaemon: Sendable {
    /// The daemon binary.
    public static let dockerd = URL(fileURLWithPath: "/usr/sbin/dockerd")
    /// The client binary that goes with it (not a `/usr/local/bin/docker` of another version).
    public static let client = URL(fileURLWithPath: "/usr/bin/docker")
    /// Whether both are installed.
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: dockerd.path) && FileManager.default.isExecutableFile(atPath: client.path)
    }
    /// Why tests that need it are skipped.
    public static let unavailableReason = "dockerd is not installed (apt-get install docker.io)"

    private let daemon: PrivateDaemon

    /// `unix://…/docker.sock`.
    public var host: String { "unix://\(daemon.directory.path)/docker.sock" }

    /// Starts a daemon that pulls from `insecureRegistries` (`127.0.0.1:PORT`) over plain HTTP.
    /// The vfs storage driver needs no mounts, so it works wherever the test runs.
    /// `userNamespaceRemap`: `--userns-remap default`, so every container has a user namespace of
    /// its own (root in it is the `dockremap` user's first subordinate id; dockerd adds that user
    /// and its `/etc/subuid`/`/etc/subgid` ranges when they are missing); `docker run --userns=host`
    /// opts a container out.
    public static func start(insecureRegistries: [String] = [], userNamespaceRemap: Bool = false) async throws -> PrivateDockerDaemon {
        let daemon = try await PrivateDaemon.start(name: "dockerd", executable: dockerd, arguments: { directory in
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("config"), withIntermediateDirectories: true)
            return ["--data-root", directory.appendingPathComponent("data").path,
                    "--exec-root", directory.appendingPathComponent("exec").path,
                    "--pidfile", directory.appendingPathComponent("docker.pid").path,
                    "-H", "unix://\(directory.path)/docker.sock",
                    "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
                    "--storage-driver", "vfs", "--log-level", "warn"]
                + insecureRegistries.flatMap { ["--insecure-registry", $0] }
                + (userNamespaceRemap ? ["--userns-remap", "default"] : [])
        }, ready: { directory in
            (try? ProcessRunner.run(client, ["-H", "unix://\(directory.path)/docker.sock", "version"],
                                    environment: ["DOCKER_CONFIG": directory.appendingPathComponent("config").path]).status) == 0
        })
        return PrivateDockerDaemon(daemon: daemon)
    }

    /// Runs `/usr/bin/docker -H <this daemon> arguments…`.
    public func docker(_ arguments: [String], stdin: Data? = nil) throws -> KilnBinary.Result {
        try ProcessRunner.run(Self.client, ["-H", host] + arguments, stdin: stdin,
                              environment: ["DOCKER_CONFIG": daemon.directory.appendingPathComponent("config").path])
    }

    /// The daemon's log, for failure messages.
    public func log() -> String { daemon.log() }

    /// Stops the daemon (its managed containerd with it) and removes its directory.
    public func stop() async { await daemon.stop() }

    /// Stops the daemon when the test process exits: for a daemon a whole suite shares.
    public func stopAtExit() { daemon.stopAtExit() }
}

/// Runs `body` with a private Docker daemon and stops it afterwards, whether `body` returns or throws.
public func withPrivateDockerDaemon<T>(insecureRegistries: [String] = [], _ body: (PrivateDockerDaemon) async throws -> T) async throws -> T {
    try await withStopping(try await PrivateDockerDaemon.start(insecureRegistries: insecureRegistries), stop: { await $0.stop() }, body)
}
