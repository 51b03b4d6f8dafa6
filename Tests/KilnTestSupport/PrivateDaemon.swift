import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A daemon a test starts for itself (dockerd, containerd): its own directory for state,
/// sockets and log; started, waited for until a probe answers, stopped and removed by the
/// test. Nothing of the machine's own daemons (sockets in /run, /var/lib) is touched.
struct PrivateDaemon: Sendable {
    /// Everything the daemon keeps: state, sockets, log.
    let directory: URL
    /// The daemon's combined output.
    var logURL: URL { directory.appendingPathComponent("daemon.log") }
    private let process: Process

    /// Starts `executable` with `arguments` (built from the new directory) and waits, up to
    /// `seconds`, until `ready` says it answers. The directory is short (sockets have a 108-byte
    /// path limit) and removed when the start fails.
    static func start(name: String, executable: URL, seconds: Int = 120,
                      arguments: (URL) throws -> [String], ready: @Sendable (URL) -> Bool) async throws -> PrivateDaemon {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("kiln-\(name)-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            let process = try TestRegistry.launch(executable, try arguments(directory), log: directory.appendingPathComponent("daemon.log"))
            let daemon = PrivateDaemon(directory: directory, process: process)
            for _ in 0..<(seconds * 10) {
                guard process.isRunning else { throw PrivateDaemonError(name: name, reason: "exited during start-up", log: daemon.log()) }
                if ready(directory) { return daemon }
                try await Task.sleep(for: .milliseconds(100))
            }
            await daemon.stop()
            throw PrivateDaemonError(name: name, reason: "did not answer within \(seconds) s", log: daemon.log())
        } catch {
            Self.removeAll(under: directory)
            throw error
        }
    }

    /// The daemon's log so far.
    func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Stops the daemon (SIGTERM, then SIGKILL), detaches whatever it left mounted under its
    /// directory and removes the directory.
    func stop() async {
        await TestRegistry.terminate(process)
        Self.removeAll(under: directory)
    }

    /// Stops the daemon when the test process exits (nothing can be awaited then: SIGTERM, up to
    /// 30 s for it to end, SIGKILL), for a daemon a whole suite shares.
    func stopAtExit() {
        DaemonsStoppedAtExit.add(pid: process.processIdentifier, directory: directory)
    }

    fileprivate static func removeAll(under directory: URL) {
        // Deepest first: a daemon's mounts (network namespaces, layer mounts) under its own state.
        let mounts = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count > 4 else { return nil }
                let point = fields[4].replacingOccurrences(of: "\\040", with: " ")
                return point.hasPrefix(directory.path + "/") || point == directory.path ? point : nil
            }
        for point in mounts.sorted(by: { $0.count > $1.count }) { umount2(point, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A private daemon that did not come up.
public struct PrivateDaemonError: Error, CustomStringConvertible {
    /// Which daemon.
    public let name: String
    /// What happened.
    public let reason: String
    /// Its log, for the test failure.
    public let log: String

    /// The text form shown in test failures.
    public var description: String { "\(name) \(reason):\n\(log.suffix(4000))" }
}

/// The daemons ``PrivateDaemon/stopAtExit()`` registered, stopped by one `atexit` handler.
private enum DaemonsStoppedAtExit {
    private static let daemons = Mutex<[(pid: pid_t, directory: URL)]>([])
    private static let registered: Void = {
        atexit {
            for daemon in DaemonsStoppedAtExit.daemons.withLock({ $0 }) {
                // Gone once reaped here or by Foundation (ECHILD); kill(pid, 0) would see a zombie.
                func ended() -> Bool {
                    let result = waitpid(daemon.pid, nil, WNOHANG)
                    return result == daemon.pid || (result < 0 && errno == ECHILD)
                }
                kill(daemon.pid, SIGTERM)
                for _ in 0..<300 where !ended() { usleep(100_000) }
                if !ended() {
                    kill(daemon.pid, SIGKILL)
                    for _ in 0..<50 where !ended() { usleep(100_000) }
                }
                PrivateDaemon.removeAll(under: daemon.directory)
            }
        }
    }()

    static func add(pid: pid_t, directory: URL) {
        _ = registered
        daemons.withLock { $0.append((pid, directory)) }
    }
}
