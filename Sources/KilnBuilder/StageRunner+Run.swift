import Foundation
import KilnDockerfile
import KilnExecutor
import KilnFileOps
import KilnOCI
import KilnStorage

extension StageRunner {
    /// Runs a RUN step on `rootfs` the way the build's isolation runs steps (in the OCI runtime,
    /// or chrooted), exactly as its ``RunDefinition`` says; a non-zero exit is a `runFailed`
    /// naming the line, the command, the status and the last lines of output.
    func execute(_ run: RunDefinition, step: PlannedStep, in working: inout WorkingRootfs) async throws {
        let rootfs = working.path
        var environment = run.environment + run.proxyEnvironment
        var mounts: [StepMount] = []
        var runSpecificDirectories: [URL] = []
        var leases: [CacheMountStore.Lease] = []
        var proxies: [SSHAgentProxy] = []
        defer {
            for proxy in proxies { proxy.stop() }
            for lease in leases { lease.release() }
            for directory in runSpecificDirectories { try? FileManager.default.removeItem(at: directory) }
        }
        var fromSources = step.resolved.sources.makeIterator()
        for (index, mount) in run.mounts.enumerated() {
            let source = mount.options.from == nil ? nil : fromSources.next()
            if mount.options.type == .cache {
                let lease = try await cacheMount(mount, index: index, source: source, step: step)
                leases.append(lease)
                mounts.append(.bind(source: lease.path, destination: mount.target, readOnly: mount.options.readOnly))
                continue
            }
            if mount.options.type == .ssh {
                guard let proxy = try sshMount(mount, run: run, step: step, rootfs: rootfs) else { continue }
                proxies.append(proxy)
                runSpecificDirectories.append(proxy.socket.deletingLastPathComponent())
                mounts.append(.bind(source: proxy.socket, destination: mount.target, readOnly: false))
                if !environment.contains(where: { $0.hasPrefix("SSH_AUTH_SOCK=") }) {
                    environment.append("SSH_AUTH_SOCK=\(mount.target)")
                }
                continue
            }
            let made = try await stepMount(mount, index: index, source: source, step: step, environment: &environment)
            mounts += made.mounts
            runSpecificDirectories += made.temporary
        }
        var arguments = run.arguments
        if let script = run.script {
            let directory = session.scratch.appendingPathComponent("script-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            runSpecificDirectories.append(directory)
            let file = directory.appendingPathComponent("script")
            try Data(script.utf8).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
            mounts.append(.bind(source: directory, destination: "/dev/.kiln-script", readOnly: true))
            arguments = ["/dev/.kiln-script/script"]
        }
        let executionStep = ExecutionStep(
            rootfs: rootfs, arguments: arguments, environment: Self.lastAssignmentWins(environment),
            workingDirectory: run.workingDirectory, user: run.user, hostname: run.hostname, network: run.network,
            security: run.security, entitlements: session.grants.entitlements, mounts: mounts)
        if run.workingDirectory != "/" {
            do {
                try ContainedPath.makeDirectories(run.workingDirectory, in: rootfs)
            } catch {
                throw mountError(step, "cannot create the working directory \(run.workingDirectory): \(error)")
            }
        }
        let session = session
        let backend = try await session.grants.isolation.executorBackend {
            try await session.runtime.runtime().withStateDirectory(session.runtimeState)
        }
        let executor = Executor(backend: backend, bundleParent: session.scratch.appendingPathComponent("bundles"))
        let events = session.events
        let identity = step.identity
        let result: ExecutionResult
        do {
            // What the command writes lands on the root's filesystem (the overlay's upper
            // directory or the copied rootfs, both in the scratch directory): the reserve
            // stops the container once it is crossed.
            result = try await session.store.reserve.bounding(session.scratch, writing: "running the step") {
                try await executor.run(executionStep) { line in
                    events(.output(identity, line: line.text, isError: line.stream == .stderr))
                }
            }
        } catch let error as CancellationError {
            throw error
        } catch {
            throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
        }
        working.restoreParentTimes(of: result.createdMountTargets)
        working.acceptMoves(of: result.movedEntries)
        guard result.succeeded else {
            throw BuildError.runFailed(location: location(step), command: step.identity.text,
                                       exitStatus: result.exitStatus, lastLines: result.lastLines.map(\.text))
        }
    }

    /// `NAME=value` items with one value per name, a later item replacing an earlier one (a
    /// proxy arg over an ENV of the same name), sorted by name.
    static func lastAssignmentWins(_ items: [String]) -> [String] {
        var values: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// `subpath` (default `/`) inside the files of `source` (a stage, an image), resolved the
    /// way a chroot would, so no symlink in them leads out; and the subpath as written, for errors.
    private func sourcePath(_ subpath: String?, in source: StageSource, step: PlannedStep) async throws -> (URL, String) {
        let root = try await session.directory(of: try await layers(of: source), for: step.identity)
        let relative = StageConfig.resolve(subpath ?? "/", against: "/")
        let resolved = try ContainedPath.resolve(relative, in: root.path, followFinal: true)
        return (URL(fileURLWithPath: ContainedPath.join(root.path, resolved)), relative)
    }

    /// Writes a context mount's planned files (``PlannedStep/mountOperations``) into
    /// `directory`, verified while copied, and returns where they are; nothing is left on failure.
    private func privateCopy(of operation: PlannedFileOperation, in directory: URL, step: PlannedStep,
                             what: String) async throws -> URL {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try await operation.apply(directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw mountError(step, "\(what): \(error)")
        }
        return directory.appendingPathComponent(String(Self.mountCopyDestination.dropFirst()))
    }

    /// Takes the cache directory of a `RUN --mount=type=cache` for this step (see
    /// ``CacheMountStore``): `id` (default: the target), `sharing`, and for a new cache `mode`,
    /// `uid`, `gid` and the files of `from`/`source` as its first contents (of a directory
    /// context: the files planned with the key, copied privately first).
    private func cacheMount(_ mount: MountDefinition, index: Int, source: StageSource?,
                            step: PlannedStep) async throws -> CacheMountStore.Lease {
        let options = mount.options
        let sync = session.cacheMounts
        let id = options.id ?? mount.target
        let sharing = options.sharing.flatMap { CacheMountStore.Sharing(rawValue: $0.rawValue) } ?? .shared
        let creation = CacheMountStore.Creation(mode: options.mode, uid: options.uid, gid: options.gid)
        var fill: (@Sendable (URL) async -> Void)?
        if await sync.claimImport(of: id) {
            fill = { path in await sync.importState(of: id, into: path) }
        }
        let events = session.events
        let skipped: @Sendable () -> Void = { events(.warning("cache mount \(id): in use by another build, so not imported this time")) }
        let seedCopy = session.scratch.appendingPathComponent("seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: seedCopy) }
        do {
            return try await sync.store.lease(id: id, sharing: sharing, creation: creation, scratch: session.scratch,
                                              fill: fill, skipped: skipped) {
                guard let source else { return nil }
                let (path, relative) = if let operation = step.mountOperations[index] {
                    (try await self.privateCopy(of: operation, in: seedCopy, step: step, what: "cache mount source \(options.source ?? "/")"),
                     options.source ?? "/")
                } else {
                    try await self.sourcePath(options.source, in: source, step: step)
                }
                var info = stat()
                guard stat(path.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                    throw self.mountError(step, "cache mount source \(relative) is not a directory in \(options.from ?? "its source")")
                }
                return path
            }
        } catch let error as BuildError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw mountError(step, "cache mount \(id): \(error)")
        }
    }

    /// A socket of the step's own relaying to the ssh agent `--ssh` gave for the mount's id
    /// (see ``SSHAgentProxy``), owned by the step's user unless `uid`/`gid` say otherwise, mode
    /// 0600 unless `mode` does; nil when no agent was given and the mount is not required.
    private func sshMount(_ mount: MountDefinition, run: RunDefinition, step: PlannedStep, rootfs: URL) throws -> SSHAgentProxy? {
        let options = mount.options
        guard let upstream = session.grants.sshAgents[options.sshID] else {
            if options.required {
                throw mountError(step, "ssh agent \"\(options.sshID)\" is required but was not given (--ssh \(options.sshID)=…)")
            }
            return nil
        }
        var owner = (uid: options.uid ?? 0, gid: options.gid ?? 0)
        if options.uid == nil || options.gid == nil, let user = try? UserResolver(rootfs: rootfs).resolve(run.user) {
            owner = (options.uid ?? user.uid, options.gid ?? user.gid)
        }
        let directory = session.scratch.appendingPathComponent("ssh-\(UUID().uuidString.lowercased())")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SSHAgentProxy(relayingTo: upstream, at: directory.appendingPathComponent("agent"),
                                     uid: owner.uid, gid: owner.gid, mode: options.mode ?? 0o600)
        } catch {
            throw mountError(step, "ssh agent \"\(options.sshID)\": \(error)")
        }
    }

    /// The runtime mounts of one `RUN --mount`, and host directories to remove after the run.
    ///
    /// What runc is given to mount is always a path Kiln made or resolved itself, that nothing
    /// in the build can turn into a symlink afterwards: a private copy of the context files
    /// the key hashed, or a path resolved inside an immutable snapshot (symlinks followed
    /// inside the snapshot, never out of it).
    private func stepMount(_ mount: MountDefinition, index: Int, source: StageSource?, step: PlannedStep,
                           environment: inout [String]) async throws -> (mounts: [StepMount], temporary: [URL]) {
        let options = mount.options
        let target = mount.target
        switch options.type {
        case .tmpfs:
            return ([.tmpfs(destination: target, sizeBytes: options.size.map(Int.init))], [])
        case .cache:
            preconditionFailure("cache mounts are leased by cacheMount(_:source:step:)")
        case .bind:
            if let operation = step.mountOperations[index] {
                // A context (the build's or a directory context): a private copy of exactly the
                // files hashed for the key (after .dockerignore); writes to it are discarded.
                let directory = session.scratch.appendingPathComponent("mount-\(UUID().uuidString)")
                let path = try await privateCopy(of: operation, in: directory, step: step, what: "bind mount source \(options.source ?? ".")")
                return ([.bind(source: path, destination: target, readOnly: options.readOnly)], [directory])
            }
            guard let source else { throw mountError(step, "bind mount was not planned") }
            let (path, relative) = try await sourcePath(options.source, in: source, step: step)
            var info = stat()
            guard lstat(path.path, &info) == 0 else {
                throw mountError(step, "bind mount source \(relative) does not exist")
            }
            guard !options.readOnly else { return ([.bind(source: path, destination: target, readOnly: true)], []) }
            // A read-write bind mount lets the command write, but the writes are discarded (as
            // BuildKit does): it gets a copy, never the cached chain directory.
            let copy = session.scratch.appendingPathComponent("bind-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: path, to: copy)
            return ([.bind(source: copy, destination: target, readOnly: false)], [copy])
        case .secret:
            let id = options.secretID
            guard let file = session.grants.secrets[id] else {
                if options.required { throw mountError(step, "secret \"\(id)\" is required but was not given (--secret id=\(id),src=…)") }
                return ([], [])
            }
            if let variable = options.env {
                let value: String
                do { value = try Mount.environmentValue(ofSecret: id, file: file, variable: variable) } catch {
                    throw mountError(step, error.message)
                }
                environment.append("\(variable)=\(value)")
                if options.target == nil { return ([], []) }
            }
            return ([.bind(source: file, destination: options.target == nil ? "/run/secrets/\(id)" : target, readOnly: true)], [])
        case .ssh:
            preconditionFailure("ssh mounts are proxied by sshMount(_:run:step:rootfs:)")
        }
    }
}
