import Foundation
import KilnCache
import KilnDockerfile
import KilnFileOps
import KilnOCI

extension StageRunner {
    /// What names the empty filesystem (`scratch`) where a digest is needed.
    static let scratchIdentity = Digest.sha256(of: Data("kiln scratch".utf8))

    /// Fills in the definition, and so the cache key, of a filesystem step; plans what it reads
    /// from the context (a COPY/ADD's files, a bind mount's), whose content digests are part of
    /// it. Metadata steps get none.
    func planFilesystemEffect(of step: inout PlannedStep, parent: Digest?) async throws {
        let config = step.config
        let resolved = step.resolved
        var definition = StepDefinition(parent: parent, platform: platform.description, buildArgs: resolved.buildArgs)
        switch resolved.instruction {
        case .run(let run):
            definition.run = try await runDefinition(run, step: &step)
        case .workdir(let workdir):
            definition.workdir = WorkdirDefinition(instruction: step.identity.text,
                                                   path: StageConfig.resolve(workdir.path, against: config.workingDirectory))
        case .copy(let copy):
            let request = CopyRequest(
                sources: copy.files.paths, inlineFiles: copy.files.inlineFiles, destination: copy.files.destination,
                workingDirectory: config.workingDirectory, chown: copy.chown, chmod: copy.chmod, excludes: copy.excludes,
                parents: copy.parents, link: copy.link)
            definition.copy = try await copyDefinition(request, step: &step)
        case .add(let add):
            let request = CopyRequest(
                sources: add.files.paths, inlineFiles: add.files.inlineFiles, destination: add.files.destination,
                workingDirectory: config.workingDirectory, chown: add.chown, chmod: add.chmod, excludes: add.excludes,
                link: add.link, isAdd: true, unpack: add.unpack, checksum: add.checksum)
            definition.copy = try await copyDefinition(request, step: &step)
        default:
            return
        }
        step.definition = definition
        step.document = try definition.keyDocument()
    }

    /// A RUN's definition: the argument vector, environment, user, network and every mount
    /// by what it holds. Context bind mounts are planned here like a COPY, so their files are
    /// hashed once and exactly those bytes are mounted.
    private func runDefinition(_ run: RunInstruction, step: inout PlannedStep) async throws -> RunDefinition {
        let config = step.config
        var mounts: [MountDefinition] = []
        var fromSources = step.resolved.sources.makeIterator()
        for (index, mount) in run.mounts.enumerated() {
            let source = mount.from == nil ? nil : fromSources.next()
            let target = mount.target.map { StageConfig.resolve($0, against: config.workingDirectory) }
            var definition = MountDefinition(options: mount, target: target ?? "")
            switch mount.type {
            case .bind, .cache:
                guard let target else { throw mountError(step, "\(mount.type.rawValue) mount needs a target") }
                definition.target = target
                guard mount.type == .bind || mount.from != nil || mount.source != nil else { break }
                switch source {
                case nil where mount.type == .bind, .context?:
                    // A bind mount of a context, or a cache seeded from a directory context:
                    // exactly the files hashed here are mounted or seeded.
                    let request = CopyRequest(sources: [mount.source ?? "."], destination: Self.mountCopyDestination)
                    let planned = try await planContextCopy(request, from: source, step: step)
                    step.mountOperations[index] = planned
                    definition.contents = planned.contentDigest
                case nil:
                    break
                case .stage(let stageIndex)?:
                    definition.contents = try await session.plans.outcome(of: stageIndex).chainKey ?? Self.scratchIdentity
                    step.stageInputs[Self.mountRole(index)] = stageIndex
                case .image(let word)?:
                    let base = try self.base(word)
                    definition.contents = base.resolved.manifestDigest
                case .scratch?:
                    definition.contents = Self.scratchIdentity
                }
            case .tmpfs:
                guard target != nil else { throw mountError(step, "tmpfs mount needs a target") }
            case .secret:
                definition.secretGiven = session.grants.secrets[mount.secretID] != nil
            case .ssh:
                // BuildKit's default place: one socket per ssh mount of the step.
                let sshIndex = run.mounts[..<index].filter { $0.type == .ssh }.count
                definition.target = target ?? "/run/buildkit/ssh_agent.\(sshIndex)"
            }
            mounts.append(definition)
        }
        func pairs(_ values: [String: String]?) -> [String] {
            (values ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
        return RunDefinition(
            instruction: step.identity.text, arguments: runArguments(run, config: config),
            script: run.scriptFile?.content, environment: pairs(step.resolved.environment),
            proxyEnvironment: pairs(step.resolved.proxyEnvironment), user: config.user,
            workingDirectory: config.workingDirectory, hostname: Self.hostname,
            network: run.networkMode(default: session.grants.network), security: run.securityMode, devices: run.devices,
            mounts: mounts)
    }

    /// A COPY/ADD's definition: its request and what its sources hold — the planned content for
    /// the context, the source's identity for `--from` (a stage's final key, an image's manifest
    /// digest), so a fully cached build never materialises the source.
    private func copyDefinition(_ request: CopyRequest, step: inout PlannedStep) async throws -> CopyDefinition {
        let kind: String
        let contents: Digest
        switch step.resolved.sources.first {
        case .stage(let index)?:
            kind = "stage"
            contents = try await session.plans.outcome(of: index).chainKey ?? Self.scratchIdentity
            step.stageInputs[Self.sourceRole] = index
        case .image(let word)?:
            let base = try self.base(word)
            kind = "image"
            contents = base.resolved.manifestDigest
        case .scratch?:
            kind = "stage"
            contents = Self.scratchIdentity
        case nil, .context?:
            kind = "context"
            let planned = try await planContextCopy(request, from: step.resolved.sources.first, step: step)
            step.fileOperation = planned
            contents = planned.contentDigest
        }
        return CopyDefinition(instruction: step.identity.text, request: request, sourceKind: kind, contents: contents)
    }

    /// Plans a copy from the build context (`source` nil) or a directory context
    /// (`.context(name)`), after its `.dockerignore`: the one view of a context that COPY, ADD,
    /// bind mounts and cache seeds read.
    private func planContextCopy(_ request: CopyRequest, from source: StageSource?, step: PlannedStep) async throws -> PlannedFileOperation {
        let files: FileOperationSource = switch source {
        case .context(let name)?: try session.source.contextSource(named: name)
        default: .context(directory: session.source.contextDirectory, dockerfile: session.source.dockerfile)
        }
        return try await planFileOperation(request, source: files, step: step)
    }

    /// Plans `request` reading from `source` through the file operations.
    func planFileOperation(_ request: CopyRequest, source: FileOperationSource, step: PlannedStep) async throws -> PlannedFileOperation {
        guard let planner = session.fileOperations else {
            throw BuildError.fileOperationsUnavailable(location: location(step), instruction: step.identity.text)
        }
        do {
            return try await planner.plan(FileOperationStep(request: request, source: source, scratch: session.scratch,
                                                                reserve: session.store.reserve))
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
        }
    }

    /// The copy a COPY/ADD performs: planned while its key was computed (context), or now that
    /// the stage or image it reads is on disk (`--from`).
    func fileOperation(for step: PlannedStep) async throws -> PlannedFileOperation {
        if let planned = step.fileOperation { return planned }
        guard let request = step.definition?.copy?.request else {
            throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "not a file operation")
        }
        let layers = try await self.layers(of: step.resolved.sources.first)
        return try await planFileOperation(request, source: .directory(try await session.directory(of: layers, for: step.identity)),
                                           step: step)
    }

    /// The layers a `--from` source holds, once it is built: a stage's, an image's, none for scratch.
    func layers(of source: StageSource?) async throws -> [StageLayer] {
        switch source {
        case .stage(let index)?:
            return try await session.board.outcome(of: index).layers
        case .image(let word)?:
            let base = try self.base(word)
            return StageOutcome.from(base).layers
        case .scratch?, nil:
            return []
        case .context(let name)?:
            // Directory contexts are read through their planned copies, never as layers.
            throw BuildError.namedContext(name, "a local directory has no layers")
        }
    }

    /// The argument vector of a RUN: exec form as is, shell form through SHELL.
    func runArguments(_ run: RunInstruction, config: StageConfig) -> [String] {
        run.effectiveCommand.arguments(shell: config.shell)
    }

    /// Where a context bind mount's files are copied inside its private directory.
    static let mountCopyDestination = "/m"
    /// The hostname every RUN sees.
    static let hostname = "kiln"
    /// The basis role of a `COPY --from` stage.
    static let sourceRole = "source"
    /// The basis role of the stage mount at `index`.
    static func mountRole(_ index: Int) -> String { "mount \(index)" }

    func mountError(_ step: PlannedStep, _ reason: String) -> BuildError {
        .stepFailed(location: location(step), instruction: step.identity.text, reason: reason)
    }
}
