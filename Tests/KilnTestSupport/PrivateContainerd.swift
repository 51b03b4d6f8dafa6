import Foundation

/// A containerd of the test's own (Debian's `containerd`): root, state, sockets and plugin
/// directory in a temporary directory, the CRI plugin off. The client is `ctr --address` in a
/// namespace of its own; images are unpacked with the `native` snapshotter (no mounts).
public struct PrivateContainerd: Sendable {
    /// The daemon binary.
    public static let containerd = URL(fileURLWithPath: "/usr/bin/containerd")
    /// Its command-line client.
    public static let ctrBinary = URL(fileURLWithPath: "/usr/bin/ctr")
    /// Whether both are installed.
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: containerd.path) && FileManager.default.isExecutableFile(atPath: ctrBinary.path)
    }
    /// Why tests that need it are skipped.
    public static let unavailableReason = "containerd is not installed (apt-get install containerd)"

    private let daemon: PrivateDaemon

    /// The gRPC socket.
    public var address: String { daemon.directory.appendingPathComponent("containerd.sock").path }

    /// Starts a containerd and waits until `ctr version` answers.
    public static func start() async throws -> PrivateContainerd {
        let daemon = try await PrivateDaemon.start(name: "containerd", executable: containerd, arguments: { directory in
            let config = directory.appendingPathComponent("config.toml")
            try Data("""
                version = 2
                root = "\(directory.path)/root"
                state = "\(directory.path)/state"
                disabled_plugins = ["io.containerd.grpc.v1.cri"]
                [grpc]
                  address = "\(directory.path)/containerd.sock"
                [ttrpc]
                  address = "\(directory.path)/containerd.sock.ttrpc"
                [debug]
                  address = "\(directory.path)/debug.sock"
                [plugins."io.containerd.internal.v1.opt"]
                  path = "\(directory.path)/opt"

                """.utf8).write(to: config)
            return ["--config", config.path, "--log-level", "warn"]
        }, ready: { directory in
            (try? ProcessRunner.run(ctrBinary, ["--address", directory.appendingPathComponent("containerd.sock").path, "version"]).status) == 0
        })
        return PrivateContainerd(daemon: daemon)
    }

    /// Runs `ctr --address <socket> --namespace kiln-test arguments…`.
    public func ctr(_ arguments: [String], stdin: Data? = nil) throws -> KilnBinary.Result {
        try ProcessRunner.run(Self.ctrBinary, ["--address", address, "--namespace", "kiln-test"] + arguments, stdin: stdin)
    }

    /// The daemon's log, for failure messages.
    public func log() -> String { daemon.log() }

    /// Stops containerd and removes its directory.
    public func stop() async { await daemon.stop() }
}

/// Runs `body` with a private containerd and stops it afterwards, whether `body` returns or throws.
public func withPrivateContainerd<T>(_ body: (PrivateContainerd) async throws -> T) async throws -> T {
    try await withStopping(try await PrivateContainerd.start(), stop: { await $0.stop() }, body)
}
