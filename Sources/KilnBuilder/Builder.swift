import Foundation
import KilnArchive
import KilnCache
import KilnDistribution
import KilnDockerfile
import KilnFileOps
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage

/// What a build produced: the image and what the metadata file reports. A layer whose blob is
/// still in a registry (a cache hit nothing needed the files of, a base layer) is a
/// `DeferredLayer`: ``ImageExporter`` mounts or fetches it.
public struct BuildResult: Sendable {
    /// The image.
    public var image: AssembledImage
    /// The manifest digest (the image ID `--iidfile` writes).
    public var manifestDigest: Digest
    /// The config digest.
    public var configDigest: Digest
    /// Every step of every built stage, in plan order.
    public var steps: [StepRecord]
    /// The base images, by the word the Dockerfile used, with their manifest digests.
    public var baseImages: [String: Digest]
    /// How many layers the build unpacked.
    public var unpackedLayers: Int = 0
    /// The layers pushed while the build ran, for the exporter to wait for; nil without a push target.
    public var layerUploads: LayerUploadPipeline? = nil
    /// The base images' references: where a push may mount their layers from.
    public var baseReferences: [Reference] = []
}

/// Runs Dockerfile builds in Kiln's root: plans, resolves base images, builds the stages
/// the target needs (independent ones concurrently) and assembles the image; with outputs
/// (``build(_:platforms:writingTo:events:)``) it also pushes while building and exports
/// through ``ImageExporter``.
public struct Builder: Sendable {
    /// Kiln's root: content store, snapshots, cache, tmp.
    public let root: KilnRoot
    /// Where `FROM` images not named by a `--build-context` come from (a registry).
    public let imageSource: (any ImageSource)?
    /// COPY and ADD; a builder without rejects them with a clear error.
    public let fileOperations: (any FileOperationPlanner)?
    /// Registry caches (`--cache-repo`, `--cache-from`, `--cache-to`), behind the local one.
    public let cacheSources: [CacheSource]
    /// How long one remote cache lookup or store may take (`--cache-timeout`).
    public let cacheTimeout: Duration

    /// A builder on `root`, with the local cache in front of `cacheSources`.
    public init(root: KilnRoot, imageSource: (any ImageSource)? = nil, fileOperations: (any FileOperationPlanner)? = nil,
                cacheSources: [CacheSource] = [], cacheTimeout: Duration = .seconds(10)) {
        self.root = root
        self.imageSource = imageSource
        self.fileOperations = fileOperations
        self.cacheSources = cacheSources
        self.cacheTimeout = cacheTimeout
    }

    /// What can be refused before anything is pulled or built: media types, named contexts,
    /// the Dockerfile and its plan, and what its RUN steps need (entitlements, isolation,
    /// an emulator for a foreign platform). Returns the parsed Dockerfile, the plan options and
    /// the first plan (before the base images' ONBUILD triggers are known).
    func checkBeforePulling(_ request: BuildRequest) throws -> (Dockerfile, BuildOptions, BuildPlan) {
        try request.checkMediaTypes()
        try request.checkNamedContexts()
        let dockerfile = try parse(request)
        let options = BuildOptions(buildArgs: request.buildArgs, target: request.target, targetPlatform: request.platform,
                                   directoryContexts: request.namedContexts.directoryNames)
        let firstPlan = try plan(dockerfile, options, request)
        try firstPlan.checkRunRequirements(request, sourceLines: dockerfile.sourceLines)
        return (dockerfile, options, firstPlan)
    }

    /// Builds `request`, reporting progress to `events`. On failure or cancellation
    /// nothing is left in the root but blobs and cache entries of steps that succeeded.
    ///
    /// With `push`, each layer the image will hold is pushed to its repositories as soon as it
    /// exists, while later steps run (``LayerUploadPipeline``); the result's ``BuildResult/layerUploads``
    /// is what the exporter waits for before it pushes the manifest. A failed build stops them and
    /// pushes no manifest, so it leaves no tag.
    public func build(_ request: BuildRequest, pushingLayersTo push: LayerPushTarget? = nil,
                      events: @escaping BuildEventSink = { _ in }) async throws -> BuildResult {
        try await Self.pushingLayers(to: push, events: events) { pipeline in
            try await build(request, layerUploads: pipeline, events: events)
        }
    }

    /// Runs `body` with a layer pipeline for `push` (nil without one); stops the pipeline's
    /// uploads when `body` fails.
    static func pushingLayers<T>(to push: LayerPushTarget?, events: @escaping BuildEventSink,
                                 _ body: (LayerUploadPipeline?) async throws -> T) async throws -> T {
        let pipeline = push.map { LayerUploadPipeline(target: $0, events: events) }
        do {
            return try await body(pipeline)
        } catch {
            pipeline?.cancel()
            throw error
        }
    }

    /// ``build(_:pushingLayersTo:events:)`` with the pipeline of the whole invocation (one for
    /// every platform of a multi-platform build).
    func build(_ request: BuildRequest, layerUploads: LayerUploadPipeline?, events: @escaping BuildEventSink) async throws -> BuildResult {
        try root.makePrivate()
        var (dockerfile, options, firstPlan) = try checkBeforePulling(request)
        for warning in firstPlan.warnings { events(.warning(warning)) }
        for warning in dockerfile.warnings {
            let place = warning.location.map { "\(request.dockerfileName):\($0)" } ?? request.dockerfileName
            events(.warning("\(place): \(warning.message)"))
        }

        let bases = try await resolveBases(firstPlan, dockerfile: dockerfile, request: request)
        try request.checkBaseLayers(of: firstPlan, bases: bases)
        options.imageEnvironment = bases.byWord().mapValues(\.resolved.config.config.env)
        try addTriggers(of: bases, to: &dockerfile, plan: firstPlan, request: request)
        let buildPlan = try plan(dockerfile, options, request)
        // Again: ONBUILD triggers of the base images are steps too.
        try buildPlan.checkRunRequirements(request, sourceLines: dockerfile.sourceLines)
        if let notice = buildPlan.emulationNotice(request) { events(.info(notice)) }

        // What dead builds left goes first; then this build's own hold is written down
        // before it creates anything a reclaimer would have to find.
        try await AbandonedBuilds.reclaim(root: root)
        try FileManager.default.createDirectory(at: root.tmp, withIntermediateDirectories: true)
        let id = UUID().uuidString.lowercased()
        let scratch = root.tmp.appendingPathComponent("build-\(id)")
        let runtimeState = root.url.appendingPathComponent("runtime")
        let ownership = try BuildOwnership(root: root, id: id, scratch: scratch, runtimeState: runtimeState)
        defer {
            Self.removeScratch(scratch)
            ownership.release()
        }
        keepWithinDiskBudget(events: events)
        defer { DiskReserve.unregisterReclaimer(for: root.url) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

        // A remote cache that fails is reported once, then left alone for this build.
        let cache = BuildCache(local: LocalCacheBackend(root: root), remotes: cacheSources, timeout: cacheTimeout) { message in
            events(.warning(message))
        }
        let created = RFC3339.string(from: request.sourceDateEpoch.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date())
        let cacheMounts = CacheMountSync(
            directory: root.url.appendingPathComponent("cache-mounts"), sources: cacheSources, selection: request.remoteCacheMounts,
            maximumSize: request.cacheMountMaximumSize, info: { events(.info($0)) }, warning: { events(.warning($0)) })
        let session = BuildSession(
            grants: request.runGrants, cacheUse: request.cacheUse, source: request.source(lines: dockerfile.sourceLines),
            layering: request.layerPolicy, store: ContentStore(root: root), snapshots: SnapshotStore(root: root), cache: cache,
            scratch: scratch, events: events, cacheMounts: cacheMounts, bases: bases,
            board: StageBoard(), plans: StageBoard(), runtime: RuntimeProvider(choice: request.runtime, ownership: ownership),
            runtimeState: runtimeState, fileOperations: fileOperations,
            created: created,
            earlyPush: layerUploads.map { EarlyLayerPush(pipeline: $0, plan: buildPlan, layering: request.layerPolicy) })
        let outcomes: [Int: StageOutcome]
        do {
            outcomes = try await runStages(buildPlan, dockerfile: dockerfile, platform: request.platform, session: session)
        } catch {
            // Entries of the steps that succeeded are still worth sharing; bounded like success.
            await cache.finish(within: cacheTimeout)
            throw error
        }
        guard var final = outcomes[buildPlan.target] else { throw BuildError.invalidOption("the target stage was not built") }
        for (key, value) in request.labels { final.config.config.labels[key] = value }
        // Squashing, compression and the SOURCE_DATE_EPOCH clamp are output transforms, not step inputs.
        if request.squash { final = try await session.squashed(final) }
        final.layers = try await session.outputLayers(final.layers)
        if final.layers.isEmpty { try await Self.addEmptyLayer(to: &final, session: session) }
        await cache.finish(within: cacheTimeout * 6)
        // Only a build that succeeded shares its cache mounts.
        await cacheMounts.finish(created: RFC3339.string(from: Date()))
        // Layers still elsewhere stay there: an output that needs their bytes fetches them.
        let layers = try session.imageLayers(final.layers)
        // Which image this one is built on, as the OCI annotations for it say.
        var annotations: [String: String] = [:]
        if let base = final.baseImage {
            annotations[AnnotationKey.baseImageName] = base.reference.description
            annotations[AnnotationKey.baseImageDigest] = base.manifestDigest.description
        }
        // The one place the output's media types are decided: every descriptor in request.mediaTypes.
        // (checkMediaTypes and checkBaseLayers refused what the family cannot say before the build.)
        let image: AssembledImage
        do {
            image = try AssembledImage(config: final.config, layers: layers, annotations: annotations, mediaTypes: request.mediaTypes)
        } catch let error as MediaTypeFamilyError {
            throw BuildError.invalidOption("the image cannot be written with \(request.mediaTypes) media types: \(error)")
        }
        let steps = buildPlan.stages.flatMap { outcomes[$0.index]?.records ?? [] }
        return BuildResult(image: image, manifestDigest: try image.digest(), configDigest: image.configBlob.digest,
                           steps: steps, baseImages: bases.byWord().mapValues(\.resolved.manifestDigest),
                           unpackedLayers: session.snapshots.unpacked.value, layerUploads: layerUploads,
                           baseReferences: bases.values.map(\.resolved.reference))
    }

    private func parse(_ request: BuildRequest) throws -> Dockerfile {
        do {
            let parsed = try DockerfileParser.parse(request.dockerfileText)
            // The marker means something only when asked for; elsewhere it is what BuildKit makes of it.
            return try Dockerfile(parsed: request.commitMode == .explicit ? parsed.recognisingCommitMarkers() : parsed)
        } catch {
            throw BuildError.dockerfile(error, fileName: request.dockerfileName)
        }
    }

    private func plan(_ dockerfile: Dockerfile, _ options: BuildOptions, _ request: BuildRequest) throws -> BuildPlan {
        do {
            return try dockerfile.plan(options)
        } catch {
            throw BuildError.dockerfile(error, fileName: request.dockerfileName)
        }
    }

    /// Resolves every image a needed stage starts from or copies from, once per word and
    /// platform: the platform of the stage that names it (its `FROM --platform`, else the
    /// build's). An image without that platform is a Dockerfile error at the instruction that
    /// names it.
    private func resolveBases(_ plan: BuildPlan, dockerfile: Dockerfile, request: BuildRequest) async throws -> [BaseImageKey: BaseImage] {
        var wanted: [BaseImageKey: (source: InstructionSource, argument: Location)] = [:]
        for stage in plan.stages {
            let platform = try Self.platform(stage.platform, default: request.platform)
            if case .image(let word) = stage.base {
                wanted[BaseImageKey(word: word, platform: platform)] = (dockerfile.stages[stage.index].from.source, .argument(0))
            }
            for instruction in stage.instructions {
                for case .image(let word) in instruction.sources where wanted[BaseImageKey(word: word, platform: platform)] == nil {
                    wanted[BaseImageKey(word: word, platform: platform)] = (instruction.instruction.source, .flag("from"))
                }
            }
        }
        var bases: [BaseImageKey: BaseImage] = [:]
        let ordered = wanted.sorted { ($0.key.word, $0.key.platform.description) < ($1.key.word, $1.key.platform.description) }
        for (key, (instructionSource, place)) in ordered {
            let (word, platform) = (key.word, key.platform)
            let context = request.namedContexts.named(word)
            // A docker-image:// context is an alias: its image is resolved in the word's place.
            let imageName = if case .image(let alias)? = context?.value { alias } else { word }
            let reference: Reference
            do {
                reference = try Reference(parsing: imageName)
            } catch {
                throw BuildError.baseImage(word, "\(error)")
            }
            let source: any ImageSource
            if case .ociLayout(let layout)? = context?.value {
                source = LayoutImageSource(name: word, layout: layout)
            } else if let imageSource {
                source = imageSource
            } else {
                throw BuildError.baseImage(word, "no registry access in this build; name it with --build-context \(word)=oci-layout:///PATH")
            }
            do {
                let resolved = try await source.resolve(reference, platform: platform)
                // Sources narrow an index; a single-platform image is checked here, for every source.
                try resolved.requirePlatform(platform)
                bases[key] = BaseImage(resolved: resolved, source: source)
            } catch let error as BuildError {
                throw error
            } catch let error as RegistryError where error.registry == reference.registry && error.repository == reference.repository {
                throw BuildError.baseImage(word, error.summary)
            } catch let error as DistributionError {
                guard let has = error.platformsAvailable else { throw BuildError.baseImage(word, "\(error)") }
                let location = switch place {
                case .argument(let index): instructionSource.location(ofArgument: index)
                case .flag(let name): instructionSource.location(ofFlag: name)
                }
                let located = DockerfileError(
                    "\(word) has no image for platform \(platform) (it has: \(has.isEmpty ? "none" : has))", at: location)
                throw BuildError.dockerfile(located.showingLine(from: dockerfile.sourceLines), fileName: request.dockerfileName)
            } catch {
                throw BuildError.baseImage(word, "\(error)")
            }
        }
        return bases
    }

    /// Puts the ONBUILD triggers of each stage's base image at the start of the stage, as
    /// Docker runs them right after FROM; each trigger is parsed by the frontend.
    private func addTriggers(of bases: [BaseImageKey: BaseImage], to dockerfile: inout Dockerfile, plan: BuildPlan,
                             request: BuildRequest) throws {
        for stage in plan.stages {
            let platform = try Self.platform(stage.platform, default: request.platform)
            guard case .image(let word) = stage.base,
                  let triggers = bases[BaseImageKey(word: word, platform: platform)]?.resolved.config.config.onBuild,
                  !triggers.isEmpty else { continue }
            // Each trigger is parsed as if written on the FROM line that pulled it in, so
            // its errors point there.
            let line = dockerfile.stages[stage.index].from.source.location.line
            var parsed: [Instruction] = []
            for trigger in triggers {
                do {
                    let text = try DockerfileParser.parse(String(repeating: "\n", count: max(0, line - 1)) + trigger)
                    parsed += try (request.commitMode == .explicit ? text.recognisingCommitMarkers() : text).nodes
                        .map { node throws(DockerfileError) in try Instruction(node: node) }
                } catch {
                    throw BuildError.baseImage(word, "its ONBUILD trigger \"\(trigger)\" is invalid: \(error.summary)")
                }
            }
            dockerfile.stages[stage.index].instructions.insert(contentsOf: parsed, at: 0)
        }
    }

    /// Builds the plan's stages as a DAG: each in a task of its own that waits on the
    /// board for the stages it reads. The first failure cancels the others.
    private func runStages(_ plan: BuildPlan, dockerfile: Dockerfile, platform: BuildPlatform,
                           session: BuildSession) async throws -> [Int: StageOutcome] {
        var firstNumbers: [Int: Int] = [:]
        var next = 1
        for stage in plan.stages {
            firstNumbers[stage.index] = next
            next += stage.instructions.count + 1
        }
        let runners = try plan.stages.map { stage in
            var runner = StageRunner(session: session, stage: stage, firstStepNumber: firstNumbers[stage.index]!,
                                     platform: try Self.platform(stage.platform, default: platform),
                                     fromText: dockerfile.stages[stage.index].from.source.original)
            runner.othersNeedWholeRoot = StageRunner.othersNeedWholeRoot(of: stage.index, in: plan.stages)
            return runner
        }
        return try await withThrowingTaskGroup(of: (Int, StageOutcome).self) { group in
            for runner in runners {
                group.addTask {
                    do {
                        let outcome = try await runner.run()
                        await session.board.publish(runner.stage.index, .success(outcome))
                        return (runner.stage.index, outcome)
                    } catch {
                        await session.board.publish(runner.stage.index, .failure(error))
                        await session.plans.publish(runner.stage.index, .failure(error))
                        throw error
                    }
                }
            }
            var outcomes: [Int: StageOutcome] = [:]
            do {
                for try await (index, outcome) in group { outcomes[index] = outcome }
            } catch {
                group.cancelAll()
                throw error
            }
            return outcomes
        }
    }

    /// OCI manifests list at least one layer: an image with none (`FROM scratch` and only
    /// metadata) gets an empty tar, its last history entry marked as the one that made it,
    /// as buildah does.
    private static func addEmptyLayer(to outcome: inout StageOutcome, session: BuildSession) async throws {
        let writer = LayerWriter(compression: session.layering.compression, sourceDateEpoch: session.layering.sourceDateEpoch)
        let scratch = session.scratch
        let written = try await session.store.ingestLayer(doing: "writing an empty layer") { file, gate in
            try writer.write(changes: [], from: scratch, to: file, gate: gate)
        }
        outcome.layers.append(StageLayer(CachedLayer(
            descriptor: Descriptor(mediaType: written.mediaType, digest: written.digest, size: written.size), diffID: written.diffID),
            madeByStep: false))
        if outcome.config.history.isEmpty {
            outcome.config.history.append(History(created: session.created, emptyLayer: false))
        } else {
            outcome.config.history[outcome.config.history.count - 1].emptyLayer = false
        }
    }

    /// Where in an instruction a base image is named.
    private enum Location {
        case argument(Int)
        case flag(String)
    }

    static func platform(_ text: String?, default fallback: BuildPlatform) throws -> Platform {
        let spelled = text ?? fallback.description
        do {
            return try Platform(parsing: spelled)
        } catch {
            throw BuildError.invalidOption("platform \"\(spelled)\": \(error)")
        }
    }

    /// Removes the build's scratch directory, unmounting anything a cancelled step left mounted.
    static func removeScratch(_ scratch: URL) {
        // Mounts first (read-only views of stages, a working rootfs a failure left mounted):
        // removing through them would reach into layer snapshots.
        MountTable.detachAll(under: scratch.path)
        try? FileManager.default.removeItem(at: scratch)
    }
}
