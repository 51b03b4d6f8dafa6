import KilnCache
import KilnOCI

/// Picks, for each step of a stage, the cache variant to replay: one whose basis is the
/// content this build actually has below the step (and in the stages it reads).
///
/// Where several variants fit (two builds of a step that is not deterministic both stored
/// theirs on the same parent), the one that lets the most following steps hit is taken, then
/// the newest; so a cached build replays one build's chain from end to end and never
/// assembles an image that no build produced.
///
/// The one rule for a shared cache that may have lost variants from a key's list to
/// concurrent writers: when the variants at hand cannot carry this build as far as a later
/// step the cache knows, every variant of the stage's remaining keys is asked for once
/// (``BuildCache/completeVariants(_:joining:store:)``) before choosing.
struct VariantChooser {
    let runner: StageRunner
    let steps: [PlannedStep]
    private var hits: [CacheKey: [CacheHit]]
    /// Whether every variant of the stage's keys has been asked for already.
    private var completed = false
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
        if !completed, try await hitRun(from: index, chain: chain) < knownCommits(from: index) {
            completed = true
            let keys = steps[index...].compactMap(\.key)
            hits = await runner.session.cache.completeVariants(keys, joining: hits, store: runner.session.store)
            runs = [:]
        }
        let candidates = try await fitting(at: index, chain: chain)
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

    /// How many commit points from `index` on up to the last one whose key the cache knows:
    /// what a complete set of variants could let hit.
    private func knownCommits(from index: Int) -> Int {
        let commits = steps.indices.filter { $0 >= index && steps[$0].isCommitPoint }
        guard let last = commits.lastIndex(where: { steps[$0].key.map { hits[$0]?.isEmpty == false } ?? false }) else { return 0 }
        return last + 1
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
