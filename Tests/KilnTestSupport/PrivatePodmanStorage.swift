import Foundation

/// Podman with image storage of the test's own (`--root`, `--runroot` in a temporary directory,
/// the vfs driver, which needs no mounts): what a test loads never mixes with the machine's
/// images or another test's.
public struct PrivatePodmanStorage: Sendable {
    /// The podman binary.
    public static let binary = URL(fileURLWithPath: "/usr/bin/podman")
    /// Whether podman is installed.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }
    /// Why tests that need it are skipped.
    public static let unavailableReason = "podman is not installed (apt-get install podman)"

    /// The storage directory.
    public let directory: URL

    /// Creates empty storage.
    public init() throws {
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("kiln-podman-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `podman` on this storage.
    public func podman(_ arguments: [String]) throws -> KilnBinary.Result {
        try ProcessRunner.run(Self.binary, [
            "--root", directory.appendingPathComponent("root").path, "--runroot", directory.appendingPathComponent("run").path,
            "--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs",
            "--tmpdir", directory.appendingPathComponent("tmp").path,
        ] + arguments)
    }

    /// Removes the storage (vfs mounts nothing). Never `podman system reset`: that also resets
    /// machine-wide state (networks) other tests use.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
