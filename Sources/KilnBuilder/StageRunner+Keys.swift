import Foundation
import KilnCache
import KilnDockerfile
import KilnOCI

extension StageRunner {
    /// Fills in the cache key input of a filesystem step (and plans a COPY/ADD from the
    /// context, whose content digest is part of the key). Metadata steps get none.
    func planFilesystemEffect(of step: inout PlannedStep, parent: Digest?) async throws {
        let config = step.config
        let resolved = step.resolved
        switch resolved.instruction {
        case .run(let run):
            var instruction = "RUN " + Self.json(runArguments(run, config: config))
            for mount in run.mounts { instruction += " --mount=" + Self.json(mount) }
            if let network = run.network { instruction += " --network=\(network.rawValue)" }
            if let security = run.security { instruction += " --security=\(security.rawValue)" }
            step.input = CacheKeyInput(
                parent: parent, platform: platform.description, operation: "RUN", instruction: instruction,
                environment: (resolved.environment ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                user: config.user, workingDirectory: config.workingDirectory, buildArgs: resolved.buildArgs,
                secretIDs: run.mounts.filter { $0.type == .secret }.compactMap { $0.id ?? $0.target })
        case .workdir(let workdir):
            let path = StageConfig.resolve(workdir.path, against: config.workingDirectory)
            step.input = CacheKeyInput(parent: parent, platform: platform.description, operation: "WORKDIR",
                                       instruction: "WORKDIR " + path, user: config.user)
        case .copy(let copy):
            var text = "COPY"
            if let from = copy.from { text += " --from=" + from }
            if let chown = copy.chown { text += " --chown=" + chown }
            if let chmod = copy.chmod { text += " --chmod=" + chmod }
            if copy.link { text += " --link" }
            if copy.parents { text += " --parents" }
            for exclude in copy.excludes { text += " --exclude=" + exclude }
            try await planCopy(&step, text: text, files: copy.files, fromStage: copy.from != nil, parent: parent)
        case .add(let add):
            var text = "ADD"
            if let chown = add.chown { text += " --chown=" + chown }
            if let chmod = add.chmod { text += " --chmod=" + chmod }
            if add.link { text += " --link" }
            if let checksum = add.checksum { text += " --checksum=" + checksum }
            if let unpack = add.unpack { text += " --unpack=\(unpack)" }
            if add.keepGitDir { text += " --keep-git-dir" }
            for exclude in add.excludes { text += " --exclude=" + exclude }
            try await planCopy(&step, text: text, files: add.files, fromStage: false, parent: parent)
        default:
            break
        }
    }

    /// A COPY/ADD key: the expanded text (destination resolved against WORKDIR, heredoc
    /// bodies included) and the digest of its sources: the planned content for the context,
    /// the source's own key for `--from` (a stage's final key, an image's manifest digest),
    /// so a fully cached build never materialises the source.
    private func planCopy(_ step: inout PlannedStep, text: String, files: FileSources, fromStage: Bool,
                          parent: Digest?) async throws {
        var instruction = text + " " + Self.json(files.paths) + " "
            + StageConfig.resolve(files.destination, against: step.config.workingDirectory)
            + (files.destination.hasSuffix("/") ? "/" : "")
        for inline in files.inlineFiles { instruction += "\n<<" + inline.path + "\n" + inline.content }
        let sourcesDigest: Digest
        if fromStage {
            sourcesDigest = try await copySourceKey(step)
        } else {
            let planned = try await planFileOperation(step)
            step.fileOperation = planned
            sourcesDigest = planned.contentDigest
        }
        let keyword = instruction.hasPrefix("ADD") ? "ADD" : "COPY"
        step.input = CacheKeyInput(parent: parent, platform: platform.description, operation: keyword,
                                   instruction: instruction, user: step.config.user,
                                   workingDirectory: step.config.workingDirectory, sourcesDigest: sourcesDigest)
    }

    /// What names the files a `COPY --from` reads, without reading them.
    private func copySourceKey(_ step: PlannedStep) async throws -> Digest {
        switch step.resolved.sources.first {
        case .stage(let index):
            let source = try await session.plans.outcome(of: index)
            return source.chainKey ?? Digest.sha256(of: Data("scratch".utf8))
        case .image(let word):
            guard let base = session.bases[word] else { throw BuildError.baseImage(word, "was not resolved") }
            return base.resolved.manifestDigest
        case .scratch, nil:
            return Digest.sha256(of: Data("scratch".utf8))
        }
    }

    /// Reads a COPY/ADD's sources through the file operations.
    func planFileOperation(_ step: PlannedStep) async throws -> PlannedFileOperation {
        guard let planner = session.fileOperations else {
            throw BuildError.fileOperationsUnavailable(location: location(step), instruction: step.identity.text)
        }
        let source: FileOperationSource
        switch step.resolved.sources.first {
        case .stage(let index):
            let outcome = try await session.board.outcome(of: index)
            source = .directory(try await session.directory(of: outcome.layers, for: step.identity))
        case .image(let word):
            guard let base = session.bases[word] else { throw BuildError.baseImage(word, "was not resolved") }
            source = .directory(try await session.directory(of: StageOutcome.from(base).layers, for: step.identity))
        case .scratch:
            source = .directory(try await session.directory(of: [], for: step.identity))
        case nil:
            source = .context(directory: session.request.contextDirectory, dockerfile: session.request.dockerfile)
        }
        do {
            return try await planner.plan(FileOperationStep(
                instruction: step.resolved.instruction, source: source,
                workingDirectory: step.config.workingDirectory, scratch: session.scratch))
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
        }
    }

    /// The argument vector of a RUN: exec form as is, shell form through SHELL.
    func runArguments(_ run: RunInstruction, config: StageConfig) -> [String] {
        run.effectiveCommand.arguments(shell: config.shell)
    }

    static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}
