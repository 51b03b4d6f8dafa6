import CChroot
import Foundation
import Glibc

/// A RUN step's process in chroot isolation: started by `kiln_chroot_spawn` (its own session,
/// standard input on /dev/null, output on pipes Kiln reads, no other descriptor, chrooted,
/// capabilities cut to what a runc step gets less `CAP_SYS_CHROOT`, the step's user), waited
/// for, and — when it ends or the task is cancelled — its whole session killed.
///
/// There is no PID namespace here: the step sees (and, as the same user, may signal) the
/// other processes of the container, and a process of the step that starts a session of its
/// own leaves the step's session. Kiln also kills every process whose root is the step's
/// rootfs as far as it may read `/proc/PID/root`, which catches such a daemon when it runs as
/// Kiln's own user.
enum ChrootProcess {
    /// What the step keeps: Docker's default capabilities less `CAP_SYS_CHROOT` (a root
    /// process that keeps it leaves a chroot: chroot into a subdirectory, then climb out).
    /// `CAP_SYS_PTRACE`, `CAP_SYS_ADMIN` and every other capability are dropped too.
    static let keptCapabilities: Set<LinuxCapability> =
        Set(RuntimeSpec.dockerDefaultCapabilities.compactMap(LinuxCapability.init(name:))).subtracting([.sysChroot, .sysPtrace])

    /// Made non-dumpable once, before the first chroot step: no step can then ptrace Kiln or
    /// read its memory, descriptors or environment through /proc.
    private static let nondumpable: Int32 = kiln_set_nondumpable()

    /// Runs `arguments` chrooted in `rootfs` and returns its exit status (128+N for signal N).
    static func run(rootfs: URL, arguments: [String], environment: [String], workingDirectory: String, user: ResolvedUser,
                    onLine: @escaping @Sendable (OutputLine) async -> Void) async throws -> Int32 {
        guard nondumpable == 0 else { throw ExecutorError.chrootFailed("cannot make Kiln non-dumpable: \(String(cString: strerror(errno)))") }
        let started = try await spawn(rootfs: rootfs, arguments: arguments, environment: environment,
                                      workingDirectory: workingDirectory, user: user)
        let session = started.pid
        let readers = [PipeReader(fd: started.stdout, stream: .stdout), PipeReader(fd: started.stderr, stream: .stderr)]
        let output = Task {
            await withTaskGroup(of: Void.self) { group in
                for reader in readers {
                    group.addTask { for await line in reader.lines { await onLine(line) } }
                }
            }
        }
        let status = await withTaskCancellationHandler {
            await waitForExit(session)
        } onCancel: {
            _ = Glibc.kill(-session, SIGKILL)
        }
        // The step is over when its command is: what it left running goes too.
        killSession(session, rootfs: rootfs.resolvingSymlinksInPath().path)
        // A process that escaped the session may hold the pipes open: stop reading soon after.
        for reader in readers { reader.stop(after: 2) }
        await output.value
        if Task.isCancelled { throw CancellationError() }
        return status
    }

    /// Forks the step's process; throws what the child reports when it could not get as far as
    /// execve.
    private static func spawn(rootfs: URL, arguments: [String], environment: [String], workingDirectory: String,
                              user: ResolvedUser) async throws -> (pid: pid_t, stdout: Int32, stderr: Int32) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try spawnSynchronously(rootfs: rootfs, arguments: arguments, environment: environment,
                                           workingDirectory: workingDirectory, user: user)
                })
            }
        }
    }

    private static func spawnSynchronously(rootfs: URL, arguments: [String], environment: [String], workingDirectory: String,
                                           user: ResolvedUser) throws -> (pid: pid_t, stdout: Int32, stderr: Int32) {
        guard let command = arguments.first else { throw ExecutorError.chrootFailed("the step has no command") }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard kiln_pipe(&out) == 0 else { throw ExecutorError.chrootFailed("pipe: \(String(cString: strerror(errno)))") }
        guard kiln_pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw ExecutorError.chrootFailed("pipe: \(String(cString: strerror(errno)))")
        }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null); close(out[1]); close(err[1]) }

        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        let candidateList = CStringArray(executableCandidates(command, environment: environment))
        let root = strdup(rootfs.path)
        let workdir = strdup(workingDirectory)
        defer { free(root); free(workdir) }
        let groups = user.additionalGids
        var failureFD: Int32 = -1
        let pid: pid_t = groups.withUnsafeBufferPointer { groupBuffer in
            var step = kiln_chroot_step(
                root: root, workdir: workdir, candidates: candidateList.constPointer, candidate_count: candidateList.count,
                argv: argv.pointer, envp: envp.pointer, uid: user.uid, gid: user.gid,
                groups: groupBuffer.baseAddress, group_count: groupBuffer.count,
                keep_capabilities: LinuxCapability.mask(keptCapabilities),
                stdin_fd: null, stdout_fd: out[1], stderr_fd: err[1])
            return kiln_chroot_spawn(&step, &failureFD)
        }
        guard pid > 0 else {
            let code = errno
            for fd in [out[0], err[0]] { close(fd) }
            throw ExecutorError.chrootFailed("fork: \(String(cString: strerror(code)))")
        }
        var failure = kiln_chroot_failure()
        var count = 0
        repeat { count = read(failureFD, &failure, MemoryLayout<kiln_chroot_failure>.size) } while count < 0 && errno == EINTR
        close(failureFD)
        guard count == MemoryLayout<kiln_chroot_failure>.size else { return (pid, out[0], err[0]) }
        _ = waitForExitSynchronously(pid)
        for fd in [out[0], err[0]] { close(fd) }
        throw ExecutorError.chrootFailed(describe(failure, command: command, workingDirectory: workingDirectory, user: user))
    }

    /// What to try to execute for `command`: itself when it holds a slash, else it in every
    /// directory of the step's PATH (as runc looks it up).
    static func executableCandidates(_ command: String, environment: [String]) -> [String] {
        if command.contains("/") { return [command] }
        let path = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? RuntimeSpec.defaultPath
        return path.split(separator: ":", omittingEmptySubsequences: false).map { ($0.isEmpty ? "." : String($0)) + "/" + command }
    }

    private static func describe(_ failure: kiln_chroot_failure, command: String, workingDirectory: String, user: ResolvedUser) -> String {
        let reason = String(cString: strerror(failure.error))
        switch Int(failure.stage) {
        case Int(KILN_CHROOT_STAGE_CHROOT):
            return "cannot chroot into the step's root (Kiln needs CAP_SYS_CHROOT): \(reason)"
        case Int(KILN_CHROOT_STAGE_WORKDIR):
            return "cannot enter the working directory \(workingDirectory): \(reason)"
        case Int(KILN_CHROOT_STAGE_BOUNDING):
            let name = LinuxCapability(rawValue: Int(failure.detail))?.name ?? "capability \(failure.detail)"
            return "cannot drop \(name) from the step's capability bounding set (Kiln needs CAP_SETPCAP), "
                + "and the step does not run with it: \(reason)"
        case Int(KILN_CHROOT_STAGE_GROUPS), Int(KILN_CHROOT_STAGE_GID):
            return "cannot take the step's groups \(user.additionalGids.map(String.init).joined(separator: ",")) (Kiln needs CAP_SETGID): \(reason)"
        case Int(KILN_CHROOT_STAGE_UID):
            return "cannot take the step's user \(user.uid) (Kiln needs CAP_SETUID): \(reason)"
        case Int(KILN_CHROOT_STAGE_CAPSET):
            return "cannot set the step's capabilities: \(reason)"
        case Int(KILN_CHROOT_STAGE_EXEC):
            return failure.error == ENOENT ? "exec: \"\(command)\": executable file not found in $PATH"
                : "exec \(command): \(reason)"
        default:
            return "cannot start the step: \(reason)"
        }
    }

    /// Waits for `pid` without holding a thread of the cooperative pool.
    private static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: waitForExitSynchronously(pid)) }
        }
    }

    private static func waitForExitSynchronously(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 128 + SIGKILL }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Kills what is left of the step: every process of its session (by `/proc/PID/stat`), and
    /// every process whose root directory is `rootfs` (where `/proc/PID/root` may be read).
    /// Rounds repeat until one finds none, so a process forked meanwhile goes too.
    static func killSession(_ session: pid_t, rootfs: String) {
        _ = Glibc.kill(-session, SIGKILL)
        for _ in 0..<100 {
            var found: [pid_t] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(name), pid != getpid() else { continue }
                if sessionID(of: pid) == session
                    || (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/root")) == rootfs {
                    found.append(pid)
                }
            }
            // Zombies of the step are ours only if Kiln is their reaper; those that are, go.
            found = found.filter { processState(of: $0) != "Z" || waitpid($0, nil, WNOHANG) == 0 }
            if found.isEmpty { return }
            for pid in found { _ = Glibc.kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Kills every process whose root directory lies below `directory` (where `/proc/PID/root`
    /// may be read): the chrooted steps of a build that died without stopping them.
    static func killRooted(below directory: String) {
        let prefix = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path + "/"
        for _ in 0..<100 {
            var found: [pid_t] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(name), pid != getpid(), processState(of: pid) != "Z",
                      let root = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/root"),
                      root.hasPrefix(prefix) else { continue }
                found.append(pid)
            }
            if found.isEmpty { return }
            for pid in found { _ = Glibc.kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Field 6 of `/proc/PID/stat` (after the parenthesised command name): the session id.
    private static func sessionID(of pid: pid_t) -> pid_t? {
        statFields(of: pid).flatMap { $0.count > 3 ? pid_t($0[3]) : nil }
    }

    private static func processState(of pid: pid_t) -> String? {
        statFields(of: pid)?.first.map(String.init)
    }

    /// The fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, session, …
    private static func statFields(of pid: pid_t) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: end)...].split(separator: " ")
    }
}

/// NUL-terminated C string arrays for the child, freed with the value.
private final class CStringArray {
    let count: Int
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointer[index] = strdup(string) }
        pointer[strings.count] = nil
    }

    var constPointer: UnsafePointer<UnsafePointer<CChar>?> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
    }

    deinit {
        for index in 0..<count { free(pointer[index]) }
        pointer.deallocate()
    }
}
