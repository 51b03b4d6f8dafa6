import Foundation
import KilnArchive
import Testing
@testable import KilnStorage

/// For random trees A and B (B made from A by random changes), applying diff(A, B) onto a copy
/// of A gives B, entry by entry, metadata included: once through KilnArchive's layer writer
/// and applier, once through a direct in-test applier (which keeps nanosecond mtimes, so it
/// checks the diff alone to the last bit).
@Suite struct SnapshotDiffPropertyTests {
    static let seeds: [UInt64] = Array(1...36)

    /// A copy of a random tree A as `base`, A changed into B in `work`, and the diff.
    private func scenario(seed: UInt64, in directory: URL) async throws -> (work: URL, base: URL, changes: [LayerChange]) {
        let work = directory.appendingPathComponent("work")
        let base = directory.appendingPathComponent("base")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
        var tree = RandomTree(seed: seed, root: work)
        try tree.populate()
        try await TreeCopier.copy(from: work, to: base)
        let before = try await Snapshot.capture(work)
        try tree.mutate(count: Int(seed % 20) + 10)
        let after = try await Snapshot.capture(work, baseline: before)
        // Neither reusing the baseline nor walking in parallel changes what is recorded.
        #expect(after.entries == (try await Snapshot.capture(work, parallelism: 1)).entries)
        return (work, base, after.changes(since: before))
    }

    @Test(arguments: seeds)
    func layerOfTheDiffReproducesTheNewTree(seed: UInt64) async throws {
        try await withTemporaryDirectory { directory in
            let (work, base, changes) = try await scenario(seed: seed, in: directory)
            let layer = directory.appendingPathComponent("layer.tar")
            let written = try LayerWriter(compression: .none).write(changes: changes, from: work, to: layer)
            let applied = try LayerApplier(privileged: true).apply(layer: layer, to: base)
            #expect(applied.diffID == written.diffID)
            let problems = try await treeDifferences(work, base, throughLayer: true)
            #expect(problems == [], "seed \(seed): \(changes)")
        }
    }

    @Test(arguments: seeds)
    func changeListReproducesTheNewTree(seed: UInt64) async throws {
        try await withTemporaryDirectory { directory in
            let (work, base, changes) = try await scenario(seed: seed, in: directory)
            #expect(changes == changes.sortedForLayer())
            try ChangeListApplier.apply(changes, from: work, onto: base)
            let problems = try await treeDifferences(work, base)
            #expect(problems == [], "seed \(seed): \(changes)")
        }
    }
}
