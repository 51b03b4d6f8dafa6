import KilnDistribution
import KilnDockerfile
import KilnOCI

/// Which layers of one build are pushed while it runs: exactly the layers the pushed image will
/// hold as they are. Decided here alone, from the plan and the layer policy, before any step runs.
///
/// - Only the target stage and the stages it inherits through `FROM stage` end up in the image.
///   A builder stage read only by `COPY --from` contributes the layer of that COPY (a step of the
///   target, pushed when it commits), never its own layers, so they are never pushed.
/// - Output transforms replace a layer by another blob after the build: with `--squash` the
///   target's own layers (those it inherited stay), with `SOURCE_DATE_EPOCH` or a cached layer in
///   another compression every layer a step made (``LayerPolicy/derivesOutputLayer(_:)``). Those
///   are pushed after the build, as they were before the pipeline; base image layers, and the
///   other layers, still go early.
struct EarlyLayerPush: Sendable {
    /// Where the layers go.
    let pipeline: LayerUploadPipeline
    /// The target stage and every stage it inherits through FROM, by plan index.
    let inheritedStages: Set<Int>
    /// The stage whose own layers `--squash` replaces, if any.
    let squashedStage: Int?
    /// The output transforms that replace layers.
    let layering: LayerPolicy

    init(pipeline: LayerUploadPipeline, plan: BuildPlan, layering: LayerPolicy) {
        self.pipeline = pipeline
        self.layering = layering
        squashedStage = layering.squash ? plan.target : nil
        var stages: Set<Int> = []
        var next: Int? = plan.target
        while let index = next, stages.insert(index).inserted {
            guard case .stage(let parent)? = plan.stages.first(where: { $0.index == index })?.base else { break }
            next = parent
        }
        inheritedStages = stages
    }

    /// The positions in `outcome.layers` of the layers of stage `stage` that the image will hold
    /// as they are.
    func finalLayers(of outcome: StageOutcome, stage: Int) -> [Int] {
        guard inheritedStages.contains(stage) else { return [] }
        let kept = stage == squashedStage ? outcome.inherited.layers : outcome.layers.count
        return (0..<min(kept, outcome.layers.count)).filter { !layering.derivesOutputLayer(outcome.layers[$0]) }
    }
}

extension BuildSession {
    /// Hands the layers of stage `stage` so far (its inherited ones and those its steps made) to
    /// the build's layer pushes, which start those that the image will hold as they are and were
    /// not started before. The stage runner calls this as each step's layer is committed or
    /// replayed from the cache.
    ///
    /// Base image layers go with the first layer a step of the chain makes, not before: by then a
    /// step that needed their files has fetched them, so a base from another registry is read from
    /// the content store instead of being downloaded a second time beside the build's own fetch.
    func pushEarly(_ outcome: StageOutcome, of stage: Int) async {
        guard let earlyPush else { return }
        let positions = earlyPush.finalLayers(of: outcome, stage: stage)
        // A layer that cannot be described now is left to the exporter, which reports why.
        guard !positions.isEmpty, let layers = try? imageLayers(outcome.layers) else { return }
        for position in positions {
            // A base layer may already be in the registry, in its own repository: mount it from there.
            var mountFrom: [Reference] = []
            if case .base(let base)? = outcome.layers[position].origin { mountFrom.append(base.resolved.reference) }
            await earlyPush.pipeline.push(layers[position], mountFrom: mountFrom)
        }
    }
}
