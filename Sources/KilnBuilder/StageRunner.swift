import Foundation
import KilnCache
import KilnDockerfile
import KilnExecutor
import KilnFileOps
import KilnOCI
import KilnStorage

/// One step of a stage with everything decided before anything runs: its config state, its
/// history text and, for filesystem steps, its cache key.
struct PlannedStep: Sendable {
    var identity: StepIdentity
    var resolved: ResolvedInstruction
    /// The config the step runs with (the state after the previous step).
    var config: StageConfig
    var history: String
    /// What a filesystem step (RUN, COPY, ADD, WORKDIR) does; its key derives from it.
    var definition: StepDefinition?
    /// ``definition`` as its key hashes it.
    var document: KeyDocument?
    /// A COPY/ADD from the context, already planned to compute its key.
    var fileOperation: PlannedFileOperation?
    /// Context bind mounts by mount index, planned (hashed) with the key: exactly these files
    /// are mounted.
    var mountOperations: [Int: PlannedFileOperation] = [:]
    /// Stages the step reads besides its parent, by basis role: their content is part of
    /// the basis a cache entry must match.
    var stageInputs: [String: Int] = [:]
    /// Whether the step makes a layer and has a cache entry of its own (``CommitMode/commits(_:at:)``
    /// decides); the changes of a filesystem step that does not go into the next one that does.
    var isCommitPoint = false

    var key: CacheKey? { document.map(CacheKey.init(document:)) }
}

/// The next commit point of a stage being built, decided at the first filesystem step after the
/// previous one: whether the cache holds its layer, and the layers below the steps it covers.
private struct PendingCommit {
    /// Index of the commit point.
    var commit: Int
    /// The chain ID below the first step whose changes the commit's layer holds.
    var chain: Digest?
    /// The variant replayed for the commit point; nil runs every step up to it.
    var hit: CacheHit?
    /// Whether the working rootfs was made ready for these steps.
    var begun = false
    /// `--explain-cache`'s account of the miss.
    var explanation: String?
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
    /// Whether another stage of the build needs this one's whole root (``othersNeedWholeRoot(of:in:)``):
    /// then it is made anyway, and a partial root would read the blobs once more.
    var othersNeedWholeRoot = false

    var stepCount: Int { stage.instructions.count + 1 }

    /// Whether this stage's RUN steps execute under emulation (the build checked beforehand
    /// that they can execute at all).
    var runsEmulated: Bool {
        switch Emulation.current.support(for: platform) {
        case .emulated, .emulatedUnlisted: return true
        case .native, .unavailable: return false
        }
    }

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
        // Only commit points have entries.
        let keys = steps.filter(\.isCommitPoint).compactMap(\.key)
        let lookups = skipsLookups ? keys.filter { session.cacheUse.keysBuiltThisRun.contains($0.digest) } : keys
        let hits = lookups.isEmpty ? [:] : await session.cache.lookup(lookups, store: session.store)
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

    /// The image `word` names, as resolved for this stage's platform.
    func base(_ word: String) throws -> BaseImage {
        guard let base = session.bases[BaseImageKey(word: word, platform: platform)] else {
            throw BuildError.baseImage(word, "was not resolved for \(platform)")
        }
        return base
    }

    /// `--no-cache`, or `--no-cache-filter` naming this stage (by name or index).
    var skipsLookups: Bool {
        let filter = session.cacheUse.noCacheFilter
        return session.cacheUse.noCache || filter.contains(String(stage.index)) || stage.name.map(filter.contains) == true
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
        case .context(let name):
            // The plan refuses FROM of a directory context at its line; never reached.
            throw BuildError.namedContext(name, "a local directory cannot be a FROM base")
        case .image(let word):
            let base = try self.base(word)
            start = .from(base)
            // The base matched this stage's platform (an older variant may have: amd64 for
            // amd64/v2); the result is labelled with the platform it is built for, variant kept.
            start.config.os = platform.os
            start.config.architecture = platform.architecture
            start.config.variant = platform.variant
        }
        // The triggers of the base ran (they were planned as this stage's first steps).
        start.config.config.onBuild = []
        start.inherited = (start.layers.count, start.config.history.count)
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
                throw BuildError.dockerfile(error.showingLine(from: session.source.lines), fileName: session.source.dockerfileName)
            }
            if let key = step.key { parent = key.digest }
            steps.append(step)
        }
        for index in steps.indices { steps[index].isCommitPoint = session.layering.commitMode.commits(steps, at: index) }
        return steps
    }

    /// Runs the steps that missed; replays the rest. A step hits only with an entry whose
    /// basis — the content below it and of the stages it reads — is what this build has.
    private func execute(_ steps: [PlannedStep], from start: StageOutcome,
                         hits: [CacheKey: [CacheHit]]) async throws -> StageOutcome {
        var outcome = start
        var config = StageConfig(image: start.config)
        var working: WorkingRootfs?
        defer { working?.release() }
        var partialRoot: PartialWorkingRoot?
        defer { partialRoot?.release() }
        var chain = ChainID.of(start.layers.map(\.diffID))
        var chooser = VariantChooser(runner: self, steps: steps, hits: hits)
        var pending: PendingCommit?
        // History times come from the cache for cached steps, so an unchanged rebuild gives the
        // same config, hence the same image digest; metadata steps take the time of the
        // filesystem state they annotate. SOURCE_DATE_EPOCH overrides all of them.
        let fixedTime = session.layering.sourceDateEpoch != nil
        var time = fixedTime ? session.created : (start.config.created ?? session.created)
        for (index, step) in steps.enumerated() {
            try Task.checkCancellation()
            session.events(.stepStarted(step.identity))
            let began = ContinuousClock.now
            var record = StepRecord(step: step.identity, status: .metadata, seconds: 0, platform: platform.shortDescription)
            var emptyLayer = true
            if let key = step.key {
                record.cacheKey = key.description
                // The first filesystem step after a commit point looks up the next commit point:
                // its entry holds what every step up to it changed (one step in --commit=all).
                if pending == nil {
                    let commit = steps[index...].firstIndex(where: \.isCommitPoint) ?? index
                    pending = PendingCommit(commit: commit, chain: chain, hit: try await chooser.choose(at: commit, chain: chain))
                    if pending?.hit == nil, session.cacheUse.explainCache {
                        pending?.explanation = await explainMiss(of: steps[commit], hits: hits)
                    }
                }
                let isCommit = index == pending?.commit
                var layer: CachedLayer?
                var origin: LayerOrigin?
                if let hit = pending?.hit {
                    record.status = .cached
                    if isCommit {
                        // The working rootfs no longer matches the chain; the next miss starts afresh.
                        working?.release()
                        working = nil
                        partialRoot?.release()
                        partialRoot = nil
                        layer = hit.entry.layer
                        // Not downloaded here: only a later miss, a COPY --from or an output that
                        // needs the bytes fetches it.
                        if !hit.isLocal { origin = .cache(hit) }
                        await session.cache.share(hit, blobsIn: session.store)
                        record.cache = "hit"
                        if !fixedTime { time = hit.entry.created }
                    }
                } else {
                    if isCommit {
                        record.cache = "miss"
                        record.explain = pending?.explanation
                    }
                    let preparing = ContinuousClock.now
                    let ioBefore = ProcessIO.current()
                    // A COPY alone in its commit, on layers not unpacked here: only what it consults is read.
                    var partial: CachedLayer??
                    if pending?.begun == false, working == nil, isCommit,
                       await runsOnPartialRoot(steps, at: index, below: outcome.layers, hits: hits, partial: partialRoot) {
                        partial = try await copyOnPartialRoot(steps, at: index, below: outcome.layers, partial: &partialRoot)
                    }
                    if partial == nil {
                        partialRoot?.release()
                        partialRoot = nil
                    }
                    if partial == nil, pending?.begun == false {
                        if working?.isFull == true {
                            working?.release()
                            working = nil
                        }
                        if working == nil {
                            working = try await WorkingRootfs.open(outcome.layers, for: step.identity, session: session)
                        }
                        try working!.beginStep()
                        pending?.begun = true
                    }
                    let performing = ContinuousClock.now
                    if partial == nil { try await perform(step, in: &working!) }
                    let committing = ContinuousClock.now
                    if isCommit, let document = step.document, let below = pending.map(\.chain) {
                        if let partial {
                            layer = partial
                        } else {
                            layer = try await working!.commit(session: session)
                        }
                        // What the steps were built on: the layers below the first of them (before
                        // the layer) and the stages they read.
                        let basis = try await self.basis(ofCommitAt: index, in: steps, on: below)
                        try await session.cache.store(CacheEntry(key: key, layer: layer, definition: document, basis: basis,
                                                                 created: session.created, sourceFiles: step.fileOperation?.sourceFiles,
                                                                 instruction: step.identity.text),
                                                      blobsIn: session.store)
                    }
                    record.timing = StepTiming(rootfsSeconds: (performing - preparing).seconds,
                                               commandSeconds: (committing - performing).seconds,
                                               layerSeconds: (ContinuousClock.now - committing).seconds)
                    if let ioBefore, let ioAfter = ProcessIO.current() { record.io = ioAfter.since(ioBefore) }
                    record.status = .executed
                    if case .run = step.resolved.instruction, runsEmulated { record.emulated = true }
                    time = session.created
                }
                if let layer {
                    outcome.layers.append(StageLayer(layer, origin: origin, madeByStep: true,
                                                     step: "#\(step.identity.number) \(step.identity.text)"))
                    chain = Self.chain(chain, adding: layer.diffID)
                    record.layer = layer.descriptor.digest.description
                    emptyLayer = false
                    await session.pushEarly(outcome, of: stage.index)
                }
                if isCommit { pending = nil }
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

    /// The content identities the commit point `steps[index]` reads when the layers below the
    /// first step its layer holds have chain ID `chain`: that chain, and the result of every
    /// stage those steps copy or mount from (the commit point's own under their role, an earlier
    /// step's as `ROLE of step N`). In `--commit=all` the layer holds the step alone.
    func basis(ofCommitAt index: Int, in steps: [PlannedStep], on chain: Digest?) async throws -> [String: Digest] {
        var basis = ["parent": chain ?? Self.scratchIdentity]
        var position = index
        repeat {
            for (role, stage) in steps[position].stageInputs {
                let layers = try await session.board.outcome(of: stage).layers
                let name = position == index ? role : "\(role) of step \(steps[position].identity.position)"
                basis[name] = ChainID.of(layers.map(\.diffID)) ?? Self.scratchIdentity
            }
            position -= 1
        } while position >= 0 && !steps[position].isCommitPoint
        return basis
    }

    /// `--explain-cache`: says which input of `step`'s definition differs from the closest entry.
    private func explainMiss(of step: PlannedStep, hits: [CacheKey: [CacheHit]]) async -> String? {
        guard let key = step.key, let document = step.document else { return nil }
        var candidates = await session.cache.explanationCandidates()
        candidates += (hits[key] ?? []).map(\.entry)
        let explanation = CacheMissExplanation(miss: document, sourceFiles: step.fileOperation?.sourceFiles, candidates: candidates)
        session.events(.info("#\(step.identity.number) cache miss: \(explanation)"))
        return explanation.description
    }

    /// The chain ID of `chain` with one more layer on top.
    static func chain(_ chain: Digest?, adding diffID: Digest) -> Digest {
        ChainID.chain([chain, diffID].compactMap { $0 }).last!
    }

    /// Does a filesystem step's work in `rootfs`, from its definition.
    private func perform(_ step: PlannedStep, in working: inout WorkingRootfs) async throws {
        guard let definition = step.definition else { return }
        if let run = definition.run {
            try await execute(run, step: step, in: &working)
        } else if let workdir = definition.workdir {
            do {
                try ContainedPath.makeDirectories(workdir.path, in: working.path)
            } catch {
                throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "cannot create \(workdir.path): \(error)")
            }
        } else if definition.copy != nil {
            let operation = try await fileOperation(for: step)
            do {
                try await operation.apply(working.path)
            } catch let error as CancellationError {
                throw error
            } catch {
                throw BuildError.stepFailed(location: location(step), instruction: step.identity.text, reason: "\(error)")
            }
        }
    }

    /// `Dockerfile:12`, how errors point at a step.
    func location(_ step: PlannedStep) -> String {
        "\(session.source.dockerfileName):\(step.resolved.instruction.location.line)"
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
