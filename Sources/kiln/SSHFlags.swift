import ArgumentParser
import Foundation
import KilnExecutor

/// `--ssh default|ID[=SOCKET|KEYFILE[,KEYFILE…]]` (BuildKit's form): the ssh agents RUN steps
/// may reach through `--mount=type=ssh`. `default` alone is `$SSH_AUTH_SOCK`; a socket is used
/// as it is; key files are loaded into an `ssh-agent` of this build's own, which dies with
/// `kiln` (`setpriv --pdeathsig KILL`) and is stopped after the build.
final class SSHAgents {
    /// The agent socket of each id.
    private(set) var sockets: [String: URL] = [:]
    private var agents: [pid_t] = []
    private var directories: [URL] = []

    init(_ values: [String]) throws {
        do {
            for value in values {
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard let id = parts.first, !id.isEmpty else { throw ValidationError("--ssh \(value): expected ID[=SOCKET|KEYFILE,…]") }
                guard sockets[id] == nil else { throw ValidationError("--ssh \(id) is given twice") }
                let paths = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
                if paths.isEmpty {
                    guard let socket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty else {
                        throw CommandFailure("--ssh \(id): SSH_AUTH_SOCK is not set; give a socket or key files: --ssh \(id)=PATH")
                    }
                    sockets[id] = try Self.checkedSocket(socket, id: id)
                } else if paths.count == 1, Self.isSocket(paths[0]) {
                    sockets[id] = URL(fileURLWithPath: paths[0])
                } else {
                    sockets[id] = try startAgent(keys: paths, id: id)
                }
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Stops the agents this build started and removes their sockets.
    func stop() {
        for agent in agents {
            // It holds nothing worth a clean exit; its socket directory goes below.
            kill(agent, SIGKILL)
            ChildProcess.wait(agent)
        }
        agents = []
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
        directories = []
    }

    private static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    private static func checkedSocket(_ path: String, id: String) throws -> URL {
        guard isSocket(path) else { throw CommandFailure("--ssh \(id): \(path) is not a socket") }
        return URL(fileURLWithPath: path)
    }

    /// An `ssh-agent` holding `keys`, on a socket in a private directory under /tmp (an agent
    /// socket path must be short).
    private func startAgent(keys: [String], id: String) throws -> URL {
        for key in keys where !FileManager.default.isReadableFile(atPath: key) {
            throw CommandFailure("--ssh \(id): cannot read \(key)")
        }
        var template = Array("/tmp/kiln-ssh-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CommandFailure("--ssh \(id): cannot make a directory under /tmp") }
        let directory = URL(fileURLWithPath: String(cString: made))
        directories.append(directory)
        let socket = directory.appendingPathComponent("agent")
        let agent: pid_t
        do {
            agent = try ChildProcess.spawn(["setpriv", "--pdeathsig", "KILL", "--", "ssh-agent", "-D", "-a", socket.path])
        } catch {
            throw CommandFailure("--ssh \(id): cannot start ssh-agent (Debian package openssh-client; setpriv from util-linux): \(error)")
        }
        agents.append(agent)
        var waited = 0
        while !Self.isSocket(socket.path) {
            var status: Int32 = 0
            guard waitpid(agent, &status, WNOHANG) == 0, waited < 100 else {
                throw CommandFailure("--ssh \(id): ssh-agent did not start")
            }
            usleep(50_000)
            waited += 1
        }
        let errors = directory.appendingPathComponent("ssh-add.err")
        let add = try ChildProcess.spawn(["ssh-add", "-q"] + keys, environment: ["SSH_AUTH_SOCK=\(socket.path)", "SSH_ASKPASS_REQUIRE=never"],
                                         log: errors)
        guard ChildProcess.wait(add) == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw CommandFailure("--ssh \(id): ssh-add could not load \(keys.joined(separator: ", ")) (a key with a passphrase needs an agent: "
                + "--ssh \(id)=$SSH_AUTH_SOCK): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return socket
    }
}
