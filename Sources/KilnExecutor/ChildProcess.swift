import Foundation
import Glibc

/// Starting a helper process Kiln keeps running beside a build (slirp4netns, an ssh-agent) or
/// waits for (ssh-add), with `posix_spawn`: Foundation's `Process` cannot be waited for from a
/// task thread here (nothing runs the run loop that would see the child exit).
///
/// The child gets no signal mask or handlers of Kiln's (Kiln blocks SIGINT and SIGTERM to
/// receive them as events; a child inheriting that could not be stopped), standard input on
/// /dev/null, and standard output and error on `log` (or /dev/null).
public enum ChildProcess {
    /// Starts `arguments` (`arguments[0]` looked up on PATH unless it holds a slash); returns
    /// its pid. `environment` entries (`NAME=value`) are added to Kiln's own, replacing those
    /// of the same name. `descriptors` are `(parent fd, child fd)` pairs to hand over (the
    /// parent's stay open; close them after). `ownProcessGroup`: a Ctrl-C on the terminal then
    /// reaches Kiln only, which stops the child in order.
    public static func spawn(_ arguments: [String], environment: [String] = [], log: URL? = nil,
                             descriptors: [(Int32, Int32)] = [], ownProcessGroup: Bool = false) throws(ChildProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log?.path ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for (parent, child) in descriptors { posix_spawn_file_actions_adddup2(&actions, parent, child) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let replaced = Set(environment.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
        let inherited = ProcessInfo.processInfo.environment.filter { !replaced.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = (inherited + environment).map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError(program: arguments[0], code: result) }
        return pid
    }

    /// Waits for `pid` to end; returns its wait status (0: exited with 0).
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}

/// A helper that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    /// The program.
    public let program: String
    /// `posix_spawn`'s error number.
    public let code: Int32

    public var description: String { "cannot start \(program): \(String(cString: strerror(code)))" }
}
