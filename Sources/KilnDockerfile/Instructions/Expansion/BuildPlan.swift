/// A Dockerfile resolved for one build: the stages the target needs, in build order, each
/// instruction expanded with the build's arguments exactly where BuildKit expands.
///
/// Create it with ``Dockerfile/plan(_:)``. JSON shape:
/// ```
/// { "target": 2, "globalArgs": {"TARGETARCH": "amd64", …}, "warnings": ["…"],
///   "stages": [ { "index": 0, "name"?: "build", "base": {"image": "…"} | {"scratch": true} | {"stage": 0},
///                 "platform"?: "linux/arm64", "dependencies": [0],
///                 "environment": ["PATH=…", …], "finalState": ["PATH=…", "ARG_OR_ENV=…"],
///                 "instructions": [ { "instruction": {…expanded instruction…},
///                                     "buildArgs": {"NAME": "value"}, "sources": [{"stage": 0}],
///                                     "environment"?: {…}, "proxyEnvironment"?: {…} } ] } ] }
/// ```
public struct BuildPlan: Sendable, Hashable, Encodable {
    /// Index of the target stage.
    public var target: Int
    /// The needed stages, every stage after the stages it needs.
    public var stages: [ResolvedStage]
    /// Values of the global ARGs (and predefined platform ARGs) as `FROM` lines see them.
    public var globalArgs: [String: String]
    /// Findings such as `--build-arg`s nothing declares.
    public var warnings: [String]
}

/// One stage of a ``BuildPlan``.
public struct ResolvedStage: Sendable, Hashable, Encodable {
    /// Index in the Dockerfile.
    public var index: Int
    /// The `AS` name.
    public var name: String?
    /// What the stage starts from, after expansion.
    public var base: StageSource
    /// `--platform` after expansion.
    public var platform: String?
    /// Stages this one needs (base, `COPY --from`, mount `from=`).
    public var dependencies: [Int]
    /// The instructions after `FROM`, expanded.
    public var instructions: [ResolvedInstruction]
    /// The image config environment at the end of the stage (inherited entries first, `PATH`
    /// always present), encoded as `["NAME=value", …]`.
    public var environment: OrderedEnvironment
    /// The variables at the end of the stage (ENV and ARG values), which a stage built on
    /// this one starts from.
    public var finalState: OrderedEnvironment
}

/// One expanded instruction with what a cache key and an executor need to know about it.
public struct ResolvedInstruction: Sendable, Hashable, Encodable {
    /// The instruction after expansion (RUN/CMD/ENTRYPOINT/HEALTHCHECK/SHELL/ONBUILD unchanged
    /// apart from RUN's mount options). For `ARG`, each argument's `defaultValue` holds the
    /// value it resolved to (`nil`: declared but unset).
    public var instruction: Instruction
    /// The ARG values the step depends on: for `RUN`, every ARG the stage declared so far that
    /// has a value; for `ARG`, the values it set; for other steps, only the declared ARGs its
    /// own words referenced. A `--build-arg` the stage does not declare never appears.
    public var buildArgs: [String: String]
    /// `RUN` only: the variables the command runs with (ENV and ARG values, the later
    /// assignment winning, `PATH` included); build args are never persisted in the image.
    public var environment: [String: String]?
    /// `RUN` only: proxy `--build-arg`s (`HTTP_PROXY`, …), passed whether declared or not; never
    /// part of a cache key.
    public var proxyEnvironment: [String: String]?
    /// `COPY --from` / `RUN --mount from=` sources, in flag order.
    public var sources: [StageSource]
}

extension Dockerfile {
    /// Resolves the stages `options.target` needs with the build's arguments and platforms.
    ///
    /// This is the entry point of the build side: errors (unknown target, bad stage index,
    /// circular dependency, expansion and validation errors) carry locations and source lines.
    public func plan(_ options: BuildOptions = BuildOptions()) throws(DockerfileError) -> BuildPlan {
        do throws(DockerfileError) {
            return try makePlan(options)
        } catch {
            throw error.withSourceLine(from: sourceLines)
        }
    }

    private func makePlan(_ options: BuildOptions) throws(DockerfileError) -> BuildPlan {
        let scope = try GlobalScope(dockerfile: self, options: options)
        var bases: [StageSource] = []
        var platforms: [String?] = []
        var sources: [[Int: [StageSource]]] = []
        var dependencies: [[Int]] = []
        for stage in stages {
            let base = try scope.base(of: stage, in: self)
            bases.append(base)
            platforms.append(try scope.platform(of: stage))
            var stageSources: [Int: [StageSource]] = [:]
            var needs = base.stageIndex.map { [$0] } ?? []
            for (position, instruction) in stage.instructions.enumerated() {
                let found = try referencedSources(of: instruction, scope: scope)
                if !found.isEmpty { stageSources[position] = found }
                needs += found.compactMap(\.stageIndex)
            }
            sources.append(stageSources)
            dependencies.append(needs)
        }
        let graph = try StageGraph(dependencies: dependencies, names: stages.map(\.displayName), locations: stages.map(\.from.source.location))
        let target = try targetStage(options.target)
        var resolved: [Int: ResolvedStage] = [:]
        var consumed = scope.declared.union(PredefinedArgs.proxyArgNames).union(PredefinedArgs.platformArgNames)
        for index in graph.buildOrder(for: target.index) {
            var evaluator: StageEvaluator
            switch bases[index] {
            case .stage(let parent):
                evaluator = StageEvaluator(scope: scope, options: options, state: resolved[parent]?.finalState ?? OrderedEnvironment(),
                                           image: resolved[parent]?.environment ?? OrderedEnvironment(), escapeToken: directives.escapeToken)
            case .image(let reference):
                evaluator = StageEvaluator(scope: scope, options: options, state: OrderedEnvironment(),
                                           image: OrderedEnvironment(imageConfigEnv: options.imageEnvironment[reference] ?? []),
                                           escapeToken: directives.escapeToken)
            case .scratch, .context:
                evaluator = StageEvaluator(scope: scope, options: options, state: OrderedEnvironment(), image: OrderedEnvironment(),
                                           escapeToken: directives.escapeToken)
            }
            var instructions: [ResolvedInstruction] = []
            for (position, instruction) in stages[index].instructions.enumerated() {
                instructions.append(try evaluator.evaluate(instruction, sources: sources[index][position] ?? []))
            }
            consumed.formUnion(evaluator.declared)
            resolved[index] = ResolvedStage(
                index: index, name: stages[index].name, base: bases[index], platform: platforms[index],
                dependencies: graph.dependencies[index], instructions: instructions, environment: evaluator.image,
                finalState: evaluator.state)
        }
        let unused = options.buildArgs.keys.filter { !consumed.contains($0) }.sorted()
        let warnings = unused.isEmpty ? [] : ["one or more build-args [\(unused.joined(separator: " "))] were not consumed"]
        return BuildPlan(
            target: target.index, stages: graph.buildOrder(for: target.index).compactMap { resolved[$0] },
            globalArgs: scope.variables, warnings: warnings)
    }

    /// The stages and images a `COPY --from` or `RUN --mount from=` reads.
    private func referencedSources(of instruction: Instruction, scope: GlobalScope) throws(DockerfileError) -> [StageSource] {
        switch instruction {
        case .copy(let copy):
            guard let from = copy.from else { return [] }
            let location = copy.source.location(ofFlag: "from")
            return [try source(named: try scope.expand(from, at: location), at: location, directoryContexts: scope.directoryContexts)]
        case .run(let run):
            var found: [StageSource] = []
            for mount in run.mounts {
                if let from = mount.from {
                    found.append(try source(named: from, at: run.source.location(ofFlag: "mount"), directoryContexts: scope.directoryContexts))
                }
            }
            return found
        default:
            return []
        }
    }
}
