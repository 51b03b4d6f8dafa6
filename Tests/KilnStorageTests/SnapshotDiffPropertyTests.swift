import Foundation
import KilnArchive
import Testing
@testable import KilnStorage

/// For random trees A and B (B made from A by random changes): applying diff(A, B) onto a copy
/// of A gives B, entry by entry, metadata included.
@Suite struct SnapshotDiffPropertyTests {
    static let seeds: [UInt64] = Array(1...36)

    @Test(arguments: seeds)
    func applyingTheDiffReproducesTheNewTree(seed: UInt64) async throws {
        try await withTemporaryDirectory { directory in
            let work = directory.appendingPathComponent("work")
            let base = directory.appendingPathComponent("base")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
            var tree = RandomTree(seed: seed, root: work)
            try tree.populate()
            try await TreeCopier.copy(from: work, to: base)
            #expect(try await treeDifferences(work, base) == [], "copy of A")

            let before = try await Snapshot.capture(work)
            try tree.mutate(count: Int(seed % 20) + 10)
            let after = try await Snapshot.capture(work)
            let changes = after.changes(since: before)

            #expect(changes == changes.sortedForLayer())
            try ChangeListApplier.apply(changes, from: work, onto: base)
            let problems = try await treeDifferences(work, base)
            #expect(problems == [], "seed \(seed): \(changes)")
        }
    }
}
