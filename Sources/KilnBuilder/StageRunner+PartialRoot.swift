import Foundation
import KilnCache
import KilnDockerfile
import KilnFileOps
import KilnOCI
import KilnStorage

extension StageRunner {
    /// Whether the build makes the whole root of `stages[index]` for another stage anyway: one
    /// that copies or mounts its files, or one starting from it that runs a command or whose
    /// own whole root is needed so. (A stage that starts from it and also copies from it is
    /// not seen: then the partial root only costs one more reading of the blobs.)
    static func othersNeedWholeRoot(of index: Int, in stages: [ResolvedStage]) -> Bool {
        stages.contains { other in
            guard other.index != index, other.dependencies.contains(index) else { return false }
            guard case .stage(let base) = other.base, base == index else { return true }
            return other.instructions.contains { if case .run = $0.instruction { true } else { false } }
                || othersNeedWholeRoot(of: other.index, in: stages)
        }
    }

    /// Whether the COPY/ADD `steps[index]`, alone in its commit, runs on a ``PartialWorkingRoot``
    /// of `layers`: roots are overlays here, no later RUN of the stage will run and no other
    /// stage needs this one's whole root (either would unpack it anyway), and either `partial`
    /// already holds `layers` or this machine lacks a snapshot of some of them (with every
    /// snapshot present, stacking them costs nothing).
    func runsOnPartialRoot(_ steps: [PlannedStep], at index: Int, below layers: [StageLayer],
                           hits: [CacheKey: [CacheHit]], partial: PartialWorkingRoot?) async -> Bool {
        guard steps[index].definition?.copy != nil, !layers.isEmpty, !othersNeedWholeRoot else { return false }
        let laterRunRuns = steps.indices.dropFirst(index + 1).contains { later in
            guard steps[later].definition?.run != nil,
                  let commit = steps[later...].first(where: \.isCommitPoint)?.key else { return false }
            return hits[commit]?.isEmpty ?? true
        }
        guard !laterRunRuns else { return false }
        if partial?.height == layers.count { return true }
        guard await session.stacksLayerSnapshots() else { return false }
        return !session.snapshots.missingLayerSnapshots(session.references(layers)).isEmpty
    }

    /// Does the COPY/ADD `steps[index]` on `partial` (opened on `layers` first when it holds
    /// other layers, choosing what the stage's later copies planned so far consult too, so they
    /// need not read the blobs again) and writes its layer. Nil when it cannot be decided
    /// there; then the caller releases `partial` and does the step on the whole root.
    func copyOnPartialRoot(_ steps: [PlannedStep], at index: Int, below layers: [StageLayer],
                           partial: inout PartialWorkingRoot?) async throws -> CachedLayer?? {
        let step = steps[index]
        let operation = try await fileOperation(for: step)
        if partial?.height != layers.count {
            partial?.release()
            partial = nil
            if var consulted = operation.consultedPaths {
                for later in steps[(index + 1)...] { consulted.formUnion(later.fileOperation?.consultedPaths ?? []) }
                partial = try await PartialWorkingRoot.open(layers, consulting: consulted, for: step.identity, session: session)
            }
        }
        return try await partial?.copy(operation, session: session) ?? nil
    }
}
