import ArgumentParser
import Foundation

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
            var status: Int32 = 0
            while waitpid(agent, &status, 0) < 0 && errno == EINTR {}
        }
        agents = []
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
        directories = []
    }

    /// Starts `arguments` (looked up on PATH) with standard input and output on /dev/null,
    /// standard error to `standardError` (else /dev/null), and `environment` added to ours.
    private static func spawn(_ arguments: [String], environment: [String] = [], standardError: String = "/dev/null") throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let inherited = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let names = Set(environment.compactMap { $0.split(separator: "=").first.map(String.init) })
        let envp = inherited.filter { !names.contains(String($0.split(separator: "=").first ?? "")) } + environment
        // Kiln blocks SIGTERM and SIGINT to receive them as events; a child must not inherit that.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let env = envp.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in env { free(pointer) }
        }
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, env)
        guard result == 0 else { throw CommandFailure("\(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
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
        // posix_spawn, not Foundation's Process: its waitUntilExit spins forever on a task
        // thread here, as nothing runs the run loop that would see the child exit.
        let agent: pid_t
        do {
            agent = try Self.spawn(["setpriv", "--pdeathsig", "KILL", "--", "ssh-agent", "-D", "-a", socket.path])
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
        let add = try Self.spawn(["ssh-add", "-q"] + keys, environment: ["SSH_AUTH_SOCK=\(socket.path)", "SSH_ASKPASS_REQUIRE=never"],
                                 standardError: errors.path)
        var status: Int32 = 0
        while waitpid(add, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw CommandFailure("--ssh \(id): ssh-add could not load \(keys.joined(separator: ", ")) (a key with a passphrase needs an agent: "
                + "--ssh \(id)=$SSH_AUTH_SOCK): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return socket
    }
}
