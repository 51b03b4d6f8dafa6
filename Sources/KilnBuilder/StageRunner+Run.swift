import Foundation
import KilnDockerfile
import KilnExecutor
import KilnOCI

extension StageRunner {
    /// Runs a RUN step in the OCI runtime on `rootfs`; a non-zero exit is a `runFailed`
    /// naming the line, the command, the status and the last lines of output.
    func execute(_ run: RunInstruction, step: PlannedStep, in working: WorkingRootfs) async throws {
        let rootfs = working.path
        let config = step.config
        var environment = (step.resolved.environment ?? [:]).merging(step.resolved.proxyEnvironment ?? [:]) { $1 }
        var mounts: [StepMount] = []
        var runSpecificDirectories: [URL] = []
        defer { for directory in runSpecificDirectories { try? FileManager.default.removeItem(at: directory) } }
        var fromSources = step.resolved.sources.makeIterator()
        for mount in run.mounts {
            let source = mount.from == nil ? nil : fromSources.next()
            let made = try await stepMount(for: mount, source: source, step: step, environment: &environment)
            mounts += made.mounts
            runSpecificDirectories += made.temporary
        }
        var arguments = runArguments(run, config: config)
        if let script = run.scriptFile {
            let directory = session.scratch.appendingPathComponent("script-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            runSpecificDirectories.append(directory)
            let file = directory.appendingPathComponent("script")
            try Data(script.content.utf8).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
            mounts.append(.bind(source: directory, destination: "/dev/.kiln-script", readOnly: true))
            arguments = ["/dev/.kiln-script/script"]
        }
        let executionStep = ExecutionStep(
            rootfs: rootfs, arguments: arguments,
            environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            workingDirectory: config.workingDirectory, user: config.user,
            network: run.networkMode(default: session.request.network), security: run.securityMode,
            entitlements: session.request.entitlements, mounts: mounts)
        if config.workingDirectory != "/" { try RootfsPath.makeDirectories(config.workingDirectory, in: rootfs) }
        let executor = Executor(runtime: try await session.runtime.runtime().withStateDirectory(session.runtimeState),
                                bundleParent: session.scratch.appendingPathComponent("bundles"))
        let events = session.events
        let identity = step.identity
        let result: ExecutionResult
        do {
            result = try await executor.run(executionStep) { line in
                events(.output(identity, line: line.text, isError: line.stream == .stderr))
            }
        } catch let error as CancellationError {
            throw error
        } catch {
            throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
        }
        working.restoreParentTimes(of: result.createdMountTargets)
        guard result.succeeded else {
            throw BuildError.runFailed(location: location(step), command: step.identity.text,
                                       exitStatus: result.exitStatus, lastLines: result.lastLines.map(\.text))
        }
    }

    /// The runtime mounts of one `RUN --mount`, and host directories to remove after the run.
    private func stepMount(for mount: Mount, source: StageSource?, step: PlannedStep,
                           environment: inout [String: String]) async throws -> (mounts: [StepMount], temporary: [URL]) {
        let target = mount.target.map { StageConfig.resolve($0, against: step.config.workingDirectory) }
        switch mount.type {
        case .tmpfs:
            guard let target else { throw mountError(step, "tmpfs mount needs a target") }
            return ([.tmpfs(destination: target, sizeBytes: mount.size.map(Int.init))], [])
        case .cache:
            guard let target else { throw mountError(step, "cache mount needs a target") }
            let id = mount.id ?? target
            let name = Digest.sha256(of: Data(id.utf8)).encoded
            let directory = session.cacheMounts.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return ([.bind(source: directory, destination: target, readOnly: mount.readOnly)], [])
        case .bind:
            guard let target else { throw mountError(step, "bind mount needs a target") }
            let root: URL
            switch source {
            case .stage(let index)?:
                root = try await session.directory(of: try await session.board.outcome(of: index).layers, for: step.identity)
            case .image(let word)?:
                guard let base = session.bases[word] else { throw BuildError.baseImage(word, "was not resolved") }
                root = try await session.directory(of: StageOutcome.from(base).layers, for: step.identity)
            case .scratch?:
                root = try await session.directory(of: [], for: step.identity)
            case nil:
                root = session.request.contextDirectory
            }
            let relative = StageConfig.resolve(mount.source ?? "/", against: "/")
            let path = root.appendingPathComponent(String(relative.dropFirst()))
            guard FileManager.default.fileExists(atPath: path.path) else {
                throw mountError(step, "bind mount source \(relative) does not exist")
            }
            guard !mount.readOnly else { return ([.bind(source: path, destination: target, readOnly: true)], []) }
            // A read-write bind mount lets the command write, but the writes are discarded (as
            // BuildKit does): it gets a copy, never the context or a cached chain directory.
            let copy = session.scratch.appendingPathComponent("bind-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: path, to: copy)
            return ([.bind(source: copy, destination: target, readOnly: false)], [copy])
        case .secret:
            let id = mount.id ?? mount.target.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
            guard let file = session.request.secrets[id] else {
                if mount.required { throw mountError(step, "secret \"\(id)\" is required but was not given (--secret id=\(id),src=…)") }
                return ([], [])
            }
            if let variable = mount.env {
                environment[variable] = try String(contentsOf: file, encoding: .utf8)
                if mount.target == nil { return ([], []) }
            }
            return ([.bind(source: file, destination: target ?? "/run/secrets/\(id)", readOnly: true)], [])
        case .ssh:
            throw mountError(step, "RUN --mount=type=ssh is not supported yet")
        }
    }

    private func mountError(_ step: PlannedStep, _ reason: String) -> BuildError {
        .stepFailed(location: location(step), instruction: step.identity.text, reason: reason)
    }
}
