import Foundation
import Glibc

/// This machine's OpenSSH server (Debian's openssh-server), run by a test on a free port of
/// 127.0.0.1 with its own host key and configuration, serving a bare git repository to one
/// client key, and stopped by ``stop()`` (or when the fixture goes).
public final class TestSSHServer: @unchecked Sendable {
    /// The port on 127.0.0.1.
    public let port: Int
    /// The client's private key (no passphrase), which the server accepts for `root`.
    public let clientKey: URL
    /// `ssh://root@127.0.0.1:PORT/…/repo.git`, a repository whose one commit holds `README`.
    public let repositoryURL: String
    /// What `README` in the repository says.
    public let readme: String
    private let directory: URL
    private let process: SpawnedDaemon

    /// Starts the server; throws (so the test fails) when sshd, ssh-keygen or git is missing.
    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else {
            throw ProcessFailure(description: "/usr/sbin/sshd is missing: apt-get install openssh-server (scripts/test installs it)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-sshd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // sshd's privilege separation needs this directory (the package's service would make it).
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let hostKey = directory.appendingPathComponent("host_ed25519")
        clientKey = directory.appendingPathComponent("client_ed25519")
        for key in [hostKey, clientKey] {
            try ProcessRunner.checked("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kiln-test", "-f", key.path])
        }
        let authorized = directory.appendingPathComponent("authorized_keys")
        try FileManager.default.copyItem(atPath: clientKey.path + ".pub", toPath: authorized.path)

        readme = "cloned through the agent \(UUID().uuidString)"
        let work = directory.appendingPathComponent("work")
        let bare = directory.appendingPathComponent("repo.git")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data(readme.utf8).write(to: work.appendingPathComponent("README"))
        let git = ["-C", work.path, "-c", "user.name=kiln", "-c", "user.email=kiln@localhost", "-c", "init.defaultBranch=main"]
        try ProcessRunner.checked("git", git + ["init", "-q"])
        try ProcessRunner.checked("git", git + ["add", "README"])
        try ProcessRunner.checked("git", git + ["commit", "-q", "-m", "first"])
        try ProcessRunner.checked("git", ["clone", "-q", "--bare", work.path, bare.path])

        port = try TestRegistry.freePort()
        let config = directory.appendingPathComponent("sshd_config")
        try Data("""
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.path)
            AuthorizedKeysFile \(authorized.path)
            PidFile \(directory.appendingPathComponent("sshd.pid").path)
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            AllowAgentForwarding no
            AllowTcpForwarding no
            X11Forwarding no
            PrintMotd no
            LogLevel VERBOSE

            """.utf8).write(to: config)
        repositoryURL = "ssh://root@127.0.0.1:\(port)\(bare.path)"
        process = try SpawnedDaemon(["/usr/sbin/sshd", "-D", "-e", "-f", config.path], log: directory.appendingPathComponent("sshd.log"))
        // Ready once it accepts connections.
        for _ in 0..<100 {
            if TestRegistry.isListening(port: port) { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        stop()
        throw ProcessFailure(description: "sshd did not start on 127.0.0.1:\(port)")
    }

    /// Stops the server and removes its files.
    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}
