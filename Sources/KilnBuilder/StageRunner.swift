import Foundation
import KilnCache
import KilnDockerfile
import KilnOCI

/// One step of a stage with everything decided before anything runs: its config state, its
/// history text and, for filesystem steps, its cache key.
struct PlannedStep: Sendable {
    var identity: StepIdentity
    var resolved: ResolvedInstruction
    /// The config the step runs with (the state after the previous step).
    var config: StageConfig
    var history: String
    /// The key's input, for filesystem steps (RUN, COPY, ADD, WORKDIR).
    var input: CacheKeyInput?
    /// A COPY/ADD from the context, already planned to compute its key.
    var fileOperation: PlannedFileOperation?

    var key: CacheKey? { input.map(CacheKey.init) }
}

/// Builds one stage: computes every step's key first, looks them all up at once, then
/// replays the cached steps and runs the rest from the first miss, keeping one working
/// rootfs across consecutive misses.
struct StageRunner: Sendable {
    let session: BuildSession
    let stage: ResolvedStage
    /// Step number of the stage's FROM.
    let firstStepNumber: Int
    let platform: Platform
    let fromText: String

    var stepCount: Int { stage.instructions.count + 1 }

    func run() async throws -> StageOutcome {
        let fromIdentity = StepIdentity(number: firstStepNumber, stage: stage.name ?? "stage-\(stage.index)", position: 1,
                                        stageSteps: stepCount, text: fromText)
        session.events(.stepStarted(fromIdentity))
        // Keys need only the parent stage's plan, not its layers: plan, publish the plan and
        // look up while the stages this one starts from may still be running.
        let planned = try await startingPoint(from: session.plans)
        session.events(.stepFinished(fromIdentity, status: .metadata, seconds: 0, layerSize: nil))
        let steps = try await plan(from: planned)
        await session.plans.publish(stage.index, .success(plannedOutcome(of: steps, from: planned)))
        let keys = steps.compactMap(\.key)
        let hits = skipsLookups ? [:] : await session.cache.lookup(keys, store: session.store)
        var start = planned
        if case .stage = stage.base { start = try await startingPoint(from: session.board) }
        return try await execute(steps, from: start, hits: hits)
    }

    /// What the stage will hand on, known before it runs: its final config and key (no layers).
    private func plannedOutcome(of steps: [PlannedStep], from start: StageOutcome) -> StageOutcome {
        var config = StageConfig(image: start.config)
        var chainKey = start.chainKey
        for step in steps {
            try? config.apply(step.resolved.instruction)
            if let key = step.key { chainKey = key.digest }
        }
        config.image.config.env = stage.environment.imageConfigEnv
        return StageOutcome(config: config.image, layers: [], chainKey: chainKey, records: [], baseImage: start.baseImage)
    }

    /// `--no-cache`, or `--no-cache-filter` naming this stage (by name or index).
    var skipsLookups: Bool {
        let filter = session.request.noCacheFilter
        return session.request.noCache || filter.contains(String(stage.index)) || stage.name.map(filter.contains) == true
    }

    /// The base's image, layers and key; a parent stage's as `board` has it (planned or built).
    private func startingPoint(from board: StageBoard) async throws -> StageOutcome {
        var start: StageOutcome
        switch stage.base {
        case .scratch:
            start = .scratch(platform: platform)
        case .stage(let index):
            start = try await board.outcome(of: index)
            start.records = []
        case .image(let word):
            guard let base = session.bases[word] else { throw BuildError.baseImage(word, "was not resolved") }
            start = .from(base)
        }
        // The triggers of the base ran (they were planned as this stage's first steps).
        start.config.config.onBuild = []
        return start
    }

    private func identity(_ position: Int, _ instruction: Instruction) -> StepIdentity {
        let firstLine = instruction.source.original.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        var text = firstLine.trimmingCharacters(in: .whitespaces)
        if text.count > 120 { text = String(text.prefix(117)) + "..." }
        return StepIdentity(number: firstStepNumber + position + 1, stage: stage.name ?? "stage-\(stage.index)",
                            position: position + 2, stageSteps: stepCount, text: text)
    }

    /// Every step's config state, history text and key, in order; runs nothing.
    private func plan(from start: StageOutcome) async throws -> [PlannedStep] {
        var config = StageConfig(image: start.config)
        var parent = start.chainKey
        var steps: [PlannedStep] = []
        for (position, resolved) in stage.instructions.enumerated() {
            let identity = identity(position, resolved.instruction)
            var step = PlannedStep(identity: identity, resolved: resolved, config: config,
                                   history: HistoryText.text(for: resolved, shell: config.shell))
            do {
                try await planFilesystemEffect(of: &step, parent: parent)
                try config.apply(resolved.instruction)
            } catch let error as DockerfileError {
                throw BuildError.dockerfile(error.showingLine(from: session.sourceLines), fileName: session.request.dockerfileName)
            }
            if let key = step.key { parent = key.digest }
            steps.append(step)
        }
        return steps
    }

    /// Runs the steps that missed; replays the rest.
    private func execute(_ steps: [PlannedStep], from start: StageOutcome,
                         hits: [CacheKey: CacheHit]) async throws -> StageOutcome {
        var outcome = start
        var config = StageConfig(image: start.config)
        var working: WorkingRootfs?
        defer { working?.release() }
        // History times come from the cache for cached steps, so an unchanged rebuild gives the
        // same config, hence the same image digest; metadata steps take the time of the
        // filesystem state they annotate. SOURCE_DATE_EPOCH overrides all of them.
        let fixedTime = session.request.sourceDateEpoch != nil
        var time = fixedTime ? session.created : (start.config.created ?? session.created)
        for step in steps {
            try Task.checkCancellation()
            session.events(.stepStarted(step.identity))
            let began = ContinuousClock.now
            var record = StepRecord(step: step.identity, status: .metadata, seconds: 0)
            var emptyLayer = true
            if let input = step.input {
                let key = CacheKey(input)
                record.cacheKey = key.description
                let layer: CachedLayer?
                var origin: LayerOrigin?
                if let hit = hits[key] {
                    // The working rootfs no longer matches the chain; the next miss starts afresh.
                    working?.release()
                    working = nil
                    layer = hit.entry.layer
                    // Not downloaded here: only a later miss, a COPY --from or an output that
                    // needs the bytes fetches it.
                    if !hit.isLocal { origin = .cache(hit) }
                    record.status = .cached
                    record.cache = "hit"
                    if !fixedTime { time = hit.entry.created }
                } else {
                    record.cache = "miss"
                    if session.request.explainCache {
                        let explanation = CacheMissExplanation(miss: input, sourceFiles: step.fileOperation?.sourceFiles,
                                                               candidates: await session.cache.explanationCandidates())
                        record.explain = explanation.description
                        session.events(.info("#\(step.identity.number) cache miss: \(explanation)"))
                    }
                    if working?.isFull == true {
                        working?.release()
                        working = nil
                    }
                    let preparing = ContinuousClock.now
                    if working == nil {
                        try await session.ensureBlobs(outcome.layers, for: step.identity)
                        working = try await WorkingRootfs.open(outcome.layers, session: session)
                    }
                    try working!.beginStep()
                    let performing = ContinuousClock.now
                    try await perform(step, in: working!)
                    let committing = ContinuousClock.now
                    layer = try await working!.commit(session: session)
                    record.timing = StepTiming(rootfsSeconds: (performing - preparing).seconds,
                                               commandSeconds: (committing - performing).seconds,
                                               layerSeconds: (ContinuousClock.now - committing).seconds)
                    try await session.cache.store(CacheEntry(key: key, layer: layer, input: input, created: session.created,
                                                             sourceFiles: step.fileOperation?.sourceFiles),
                                                  blobsIn: session.store)
                    record.status = .executed
                    time = session.created
                }
                if let layer {
                    outcome.layers.append(StageLayer(layer, origin: origin))
                    record.layer = layer.descriptor.digest.description
                    emptyLayer = false
                }
                outcome.chainKey = key.digest
            }
            try? config.apply(step.resolved.instruction)
            if case .arg = step.resolved.instruction {} else {
                config.image.history.append(History(created: time, createdBy: step.history, emptyLayer: emptyLayer))
            }
            record.seconds = (ContinuousClock.now - began).seconds
            session.events(.stepFinished(step.identity, status: record.status, seconds: record.seconds,
                                         layerSize: emptyLayer ? nil : outcome.layers.last?.descriptor.size))
            outcome.records.append(record)
        }
        config.image.config.env = stage.environment.imageConfigEnv
        config.image.created = time
        outcome.config = config.image
        return outcome
    }

    /// Does a filesystem step's work in `rootfs`.
    private func perform(_ step: PlannedStep, in working: WorkingRootfs) async throws {
        let rootfs = working.path
        switch step.resolved.instruction {
        case .run(let run):
            try await execute(run, step: step, in: working)
        case .workdir:
            let path = StageConfig.resolve(workdirPath(step), against: step.config.workingDirectory)
            try RootfsPath.makeDirectories(path, in: rootfs)
        case .copy, .add:
            let operation: PlannedFileOperation
            if let planned = step.fileOperation {
                operation = planned
            } else {
                operation = try await planFileOperation(step)
            }
            do {
                try await operation.apply(rootfs)
            } catch {
                throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
            }
        default:
            break
        }
    }

    func workdirPath(_ step: PlannedStep) -> String {
        if case .workdir(let workdir) = step.resolved.instruction { return workdir.path }
        return "/"
    }

    /// `Dockerfile:12`, how errors point at a step.
    func location(_ step: PlannedStep) -> String {
        "\(session.request.dockerfileName):\(step.resolved.instruction.location.line)"
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
