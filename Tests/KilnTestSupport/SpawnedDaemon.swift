import Foundation
import Glibc

/// A long-running helper a test starts with `posix_spawn` (not Foundation's `Process`): after
/// Foundation started OpenSSH's sshd, its `waitUntilExit` stopped noticing other children
/// exit, hanging every later command of the test. Output goes to `log`; ``stop()`` kills it.
public final class SpawnedDaemon: @unchecked Sendable {
    /// The child's pid.
    public let pid: pid_t
    private var reaped = false

    /// Starts `arguments[0]` (an absolute path) with stdin on /dev/null and stdout and stderr to `log`.
    public init(_ arguments: [String], log: URL) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, nil, argv, environ)
        guard result == 0 else { throw ProcessFailure(description: "\(arguments[0]): \(String(cString: strerror(result)))") }
        pid = child
    }

    /// Whether the child still runs (reaping it if it ended).
    public var isRunning: Bool {
        guard !reaped else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
        return !reaped
    }

    /// SIGKILL, then reap.
    public func stop() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
    }

    deinit { stop() }
}
