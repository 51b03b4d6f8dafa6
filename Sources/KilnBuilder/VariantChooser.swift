import KilnCache
import KilnOCI

/// Picks, for each step of a stage, the cache variant to replay: one whose basis is the
/// content this build actually has below the step (and in the stages it reads).
///
/// Where several variants fit (two builds of a step that is not deterministic both stored
/// theirs on the same parent), the one that lets the most following steps hit is taken, then
/// the newest; so a cached build replays one build's chain from end to end and never
/// assembles an image that no build produced.
struct VariantChooser {
    let runner: StageRunner
    let steps: [PlannedStep]
    let hits: [CacheKey: [CacheHit]]
    /// Hits that follow from step index and chain, already worked out.
    private var runs: [Position: Int] = [:]

    private struct Position: Hashable {
        var index: Int
        var chain: Digest?
    }

    init(runner: StageRunner, steps: [PlannedStep], hits: [CacheKey: [CacheHit]]) {
        self.runner = runner
        self.steps = steps
        self.hits = hits
    }

    /// The variant to replay for commit point `index` on layers with chain ID `chain` (below the
    /// first step its layer holds); nil is a miss.
    mutating func choose(at index: Int, chain: Digest?) async throws -> CacheHit? {
        var candidates = try await fitting(at: index, chain: chain)
        if candidates.isEmpty, let key = steps[index].key, hits[key]?.isEmpty == false {
            // The key is known but none of its listed variants fits: a shared store may have
            // lost this build's variant from the list to a concurrent writer; ask for it by basis.
            let basis = try await runner.basis(ofCommitAt: index, in: steps, on: chain)
            candidates = await runner.session.cache.lookup(key, basis: basis, store: runner.session.store)
        }
        guard candidates.count > 1 else { return candidates.first }
        var best: (hit: CacheHit, run: Int)?
        for hit in candidates {
            let next = hit.entry.layer.map { StageRunner.chain(chain, adding: $0.diffID) } ?? chain
            let run = try await hitRun(from: index + 1, chain: next)
            if best == nil || run > best!.run || (run == best!.run && hit.entry.created > best!.hit.entry.created) {
                best = (hit, run)
            }
        }
        return best?.hit
    }

    /// The variants of step `index` whose basis is what this build has there.
    private func fitting(at index: Int, chain: Digest?) async throws -> [CacheHit] {
        guard let key = steps[index].key, let variants = hits[key], !variants.isEmpty else { return [] }
        let basis = try await runner.basis(ofCommitAt: index, in: steps, on: chain)
        return variants.filter { $0.entry.basis == basis }
    }

    /// How many commit points from `index` on would hit, starting on `chain`.
    private mutating func hitRun(from index: Int, chain: Digest?) async throws -> Int {
        var index = index
        while index < steps.count && !steps[index].isCommitPoint { index += 1 }
        guard index < steps.count else { return 0 }
        let position = Position(index: index, chain: chain)
        if let known = runs[position] { return known }
        var longest = 0
        for hit in try await fitting(at: index, chain: chain) {
            let next = hit.entry.layer.map { StageRunner.chain(chain, adding: $0.diffID) } ?? chain
            longest = max(longest, 1 + (try await hitRun(from: index + 1, chain: next)))
        }
        runs[position] = longest
        return longest
    }
}
