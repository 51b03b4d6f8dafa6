import Foundation
import Glibc
import KilnStorage
import Subprocess
import SystemPackage

/// The network of one step in the default mode: a network namespace of its own, kept in a
/// bind-mounted file so runc joins it by path, with slirp4netns giving it NAT egress.
///
/// slirp4netns is user-mode TCP/IP: every connection the step opens becomes a socket slirp4netns
/// opens on the host, so nothing (no bridge, veth, iptables rule) changes in the host's network.
/// What the step must not reach is cut off twice: `--disable-host-loopback` makes 10.0.2.2 (the
/// host's loopback as slirp4netns offers it) unreachable, and a `prohibit` route in the step's
/// namespace rejects 169.254.0.0/16, which slirp4netns would otherwise connect to on the host
/// (cloud metadata services answer there). The step cannot remove that route: it has no
/// CAP_NET_ADMIN, and without CAP_NET_RAW (dropped in this mode, see ``RuntimeSpec``) it cannot
/// hand slirp4netns raw frames that skip the route either. IPv6 is not enabled in slirp4netns,
/// so fe80::/10 and every other IPv6 destination are unreachable.
///
/// slirp4netns watches a socket Kiln holds (`--exit-fd`): when Kiln exits, even killed, it exits too.
final class SandboxNetwork: Sendable {
    /// The bind-mounted namespace file; the runtime spec names it as the network namespace's path.
    let namespacePath: URL
    private let slirpPID: pid_t
    private let exitFD: Int32

    /// The address the step's resolver uses: slirp4netns forwards it to the host's resolvers.
    static let resolverAddress = "10.0.2.3"

    private init(namespacePath: URL, slirpPID: pid_t, exitFD: Int32) {
        self.namespacePath = namespacePath
        self.slirpPID = slirpPID
        self.exitFD = exitFD
    }

    /// Creates the namespace at `namespacePath`, starts slirp4netns on it (its output goes to
    /// `log`) and waits until the interface is configured.
    static func create(at namespacePath: URL, log: URL) async throws -> SandboxNetwork {
        guard let slirp = ExecutableSearch.standard.find("slirp4netns") else {
            throw ExecutorError.sandboxNetworkUnavailable(
                "slirp4netns is not installed (apt-get install slirp4netns)")
        }
        guard FileManager.default.createFile(atPath: namespacePath.path, contents: nil) else {
            throw ExecutorError.sandboxNetworkUnavailable("cannot create \(namespacePath.path)")
        }
        do {
            try await checked("unshare", ["--net=\(namespacePath.path)", "true"])
        } catch {
            unlink(namespacePath.path)
            throw error
        }
        let network: SandboxNetwork
        do {
            network = try await start(slirp, namespacePath: namespacePath, log: log)
        } catch {
            unmount(namespacePath)
            throw error
        }
        do {
            try await checked("nsenter", ["--net=\(namespacePath.path)", "ip", "route", "add", "prohibit", "169.254.0.0/16"])
        } catch {
            await network.remove()
            throw error
        }
        return network
    }

    /// Stops slirp4netns and removes the namespace.
    func remove() async {
        close(exitFD)
        let pid = slirpPID
        try? await onOwnThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        Self.unmount(namespacePath)
    }

    private static func unmount(_ path: URL) {
        umount2(path.path, Int32(MNT_DETACH))
        unlink(path.path)
    }

    /// Spawns slirp4netns with the ready socket as fd 3 and the exit socket as fd 4, and waits
    /// for it to report the interface ready (or to die, closing the ready socket unwritten).
    private static func start(_ slirp: String, namespacePath: URL, log: URL) async throws -> SandboxNetwork {
        // Socket pairs rather than pipes: socketpair takes SOCK_CLOEXEC (pipe2 is not in Swift's
        // Glibc module), so they are close-on-exec from the start and no runtime process spawned
        // meanwhile inherits the exit end and keeps slirp4netns alive after Kiln is gone.
        var ready: [Int32] = [-1, -1]
        var exit: [Int32] = [-1, -1]
        let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, streamType, 0, &ready) == 0 else {
            throw ExecutorError.sandboxNetworkUnavailable("socketpair: \(String(cString: strerror(errno)))")
        }
        guard socketpair(AF_UNIX, streamType, 0, &exit) == 0 else {
            close(ready[0]); close(ready[1])
            throw ExecutorError.sandboxNetworkUnavailable("socketpair: \(String(cString: strerror(errno)))")
        }
        let arguments = [slirp, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox",
                         "--enable-seccomp", "--netns-type=path", "--ready-fd=3", "--exit-fd=4", namespacePath.path, "tap0"]
        // Its own process group: a Ctrl-C on the terminal reaches Kiln, which tears the step
        // down in order, instead of pulling the network from under a step still running.
        let spawned = Result { () throws(ChildProcessError) -> pid_t in
            try ChildProcess.spawn(arguments, log: log, descriptors: [(ready[1], 3), (exit[0], 4)], ownProcessGroup: true)
        }
        close(ready[1])
        close(exit[0])
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error):
            close(ready[0]); close(exit[1])
            throw ExecutorError.sandboxNetworkUnavailable("\(error)")
        }
        let network = SandboxNetwork(namespacePath: namespacePath, slirpPID: pid, exitFD: exit[1])
        let readyFD = ready[0]
        let signalled = (try? await onOwnThread { () -> Bool in
            var byte: UInt8 = 0
            var count: Int
            repeat { count = read(readyFD, &byte, 1) } while count < 0 && errno == EINTR
            close(readyFD)
            return count == 1
        }) ?? false
        guard signalled else {
            await network.remove()
            let output = (try? String(contentsOf: log, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw ExecutorError.sandboxNetworkUnavailable("slirp4netns exited before the network was up: \(output)")
        }
        return network
    }

    /// Runs a setup command; its failure is the step's failure, with the command's message.
    private static func checked(_ command: String, _ arguments: [String]) async throws {
        guard let executable = ExecutableSearch.standard.find(command) else {
            throw ExecutorError.sandboxNetworkUnavailable("\(command) is not installed (it comes with util-linux and iproute2)")
        }
        let result = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(arguments),
                                              output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        guard case .exited(0) = result.terminationStatus else {
            let message = (result.standardError + result.standardOutput).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ExecutorError.sandboxNetworkUnavailable("\(command) \(arguments.joined(separator: " ")) failed: \(message)")
        }
    }
}
