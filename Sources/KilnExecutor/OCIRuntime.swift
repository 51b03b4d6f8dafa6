import Foundation
import Subprocess
import SystemPackage

/// An OCI runtime binary (runc or crun) and the commands Kiln uses from it.
public struct OCIRuntime: Sendable, Hashable {
    /// The runtime's name, `runc` or `crun` (or the file name of a custom binary).
    public let name: String
    /// The executable.
    public let executable: URL
    /// The runtime's state directory (`--root`); nil uses the runtime's default (`/run/runc`).
    /// Kiln gives each root its own, so the containers of the builds on one root can be listed
    /// (and a crashed build's reclaimed) without touching anyone else's.
    public var stateDirectory: URL?

    /// Uses the binary at `executable`.
    public init(executable: URL, stateDirectory: URL? = nil) {
        self.executable = executable
        self.name = executable.lastPathComponent
        self.stateDirectory = stateDirectory
    }

    /// The same runtime keeping its state in `directory`.
    public func withStateDirectory(_ directory: URL) -> OCIRuntime {
        OCIRuntime(executable: executable, stateDirectory: directory)
    }

    /// The global flags every command gets.
    private var globalArguments: [String] {
        stateDirectory.map { ["--root", $0.path] } ?? []
    }

    /// Runs the container of `bundle` in the foreground and passes each output line to
    /// `onLine`; returns the exit status (128+N for signal N).
    ///
    /// The runtime logs its own failures as JSON to `runtime.log` in the bundle; when it
    /// logged an error the container never ran the command, which is thrown as
    /// ``ExecutorError/runtimeFailed(runtime:message:)`` instead of passing for a failing command.
    ///
    /// On task cancellation the runtime first gets SIGTERM, which it forwards to the
    /// container; the caller kills the container itself, so the runtime then exits on its own.
    func run(bundle: URL, id: String, onLine: @escaping @Sendable (OutputLine) async -> Void) async throws -> Int32 {
        let log = bundle.appendingPathComponent("runtime.log")
        var options = PlatformOptions()
        options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: .seconds(10))]
        let result = try await Subprocess.run(
            .path(FilePath(executable.path)),
            arguments: Arguments(globalArguments + ["--log=\(log.path)", "--log-format=json", "run", "--bundle", bundle.path, id]),
            platformOptions: options,
            input: .none,
            output: .sequence,
            error: .sequence
        ) { execution in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await text in execution.standardOutput.strings(bufferingPolicy: .unbounded) {
                        await onLine(OutputLine(stream: .stdout, text: text))
                    }
                }
                group.addTask {
                    for try await text in execution.standardError.strings(bufferingPolicy: .unbounded) {
                        await onLine(OutputLine(stream: .stderr, text: text))
                    }
                }
                try await group.waitForAll()
            }
        }
        let status = Self.status(result.terminationStatus)
        if status != 0, let message = Self.loggedErrors(log) {
            throw ExecutorError.runtimeFailed(runtime: name, message: message)
        }
        return status
    }

    /// The error messages of a runtime's JSON log, or nil when it logged none.
    private static func loggedErrors(_ log: URL) -> String? {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return nil }
        let messages = text.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["level"] as? String == "error" else { return nil }
            return object["msg"] as? String
        }
        return messages.isEmpty ? nil : messages.joined(separator: "; ")
    }

    /// Sends SIGKILL to the container's processes; false when the runtime refused, for
    /// example because the container is still being created or is already gone.
    @discardableResult
    public func kill(id: String) async -> Bool {
        (try? await invoke(["kill", id, "KILL"]))?.0 == 0
    }

    /// Removes the container, killing it first if it still runs; an unknown id is fine.
    public func delete(id: String) async throws {
        let (status, output) = try await invoke(["delete", "--force", id])
        if status != 0 && !output.contains("does not exist") && !output.contains("not found") {
            throw ExecutorError.runtimeCommandFailed(command: "\(name) delete", status: status, message: output)
        }
    }

    /// The ids of the containers this runtime knows about.
    public func containerIDs() async throws -> [String] {
        try await containers().map(\.id)
    }

    /// One container the runtime knows about.
    public struct Container: Sendable, Decodable, Equatable {
        /// Its id.
        public var id: String
        /// Its bundle directory.
        public var bundle: String
    }

    /// The containers this runtime knows about, with their bundles (`list --format json`).
    public func containers() async throws -> [Container] {
        var (status, output) = try await invoke(["list", "--format", "json"])
        // runc fails the whole list when a container is deleted while it reads the state
        // directory (its entry is gone between readdir and stat); a second look is consistent.
        for _ in 0..<5 where status != 0 && output.contains("no such file or directory") {
            (status, output) = try await invoke(["list", "--format", "json"])
        }
        guard status == 0 else {
            throw ExecutorError.runtimeCommandFailed(command: "\(name) list", status: status, message: output)
        }
        // runc prints `null` for an empty list. Only the first line is the list: a warning on
        // standard error (a container vanishing while listed) comes after it.
        let list = output.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        do {
            return try JSONDecoder().decode([Container]?.self, from: Data(list.utf8)) ?? []
        } catch {
            throw ExecutorError.runtimeCommandFailed(command: "\(name) list", status: status, message: output)
        }
    }

    /// Runs a short runtime command; returns its status and combined output.
    private func invoke(_ arguments: [String]) async throws -> (Int32, String) {
        let result = try await Subprocess.run(
            .path(FilePath(executable.path)),
            arguments: Arguments(globalArguments + arguments),
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20))
        let text = result.standardOutput + result.standardError
        return (Self.status(result.terminationStatus), text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func status(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }
}
