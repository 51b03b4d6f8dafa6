import Foundation
import Testing
@testable import KilnStorage

/// Times snapshot + diff of an unchanged 20,000-file / 500 MB tree. Opt-in
/// (`KILN_STORAGE_BENCHMARK=1`): it writes 500 MB and only prints, since timings on a shared
/// machine make poor assertions. `KILN_STORAGE_BENCHMARK_TREE` names an existing tree to time
/// instead.
@Suite struct SnapshotBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["KILN_STORAGE_BENCHMARK"] == "1"

    @Test(.enabled(if: enabled)) func unchangedLargeTree() async throws {
        if let existing = ProcessInfo.processInfo.environment["KILN_STORAGE_BENCHMARK_TREE"] {
            return try await time(URL(fileURLWithPath: existing))
        }
        try await withTemporaryDirectory { directory in
            let content = Data(repeating: 0x6b, count: 25_000)
            for top in 0..<20 {
                for sub in 0..<10 {
                    let folder = directory.appendingPathComponent("d\(top)/s\(sub)")
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    for file in 0..<100 {
                        _ = FileManager.default.createFile(atPath: folder.path + "/f\(file)", contents: content)
                    }
                }
            }
            try await time(directory)
        }
    }

    private func time(_ directory: URL) async throws {
        for parallelism in [1, 2, 4] {
            let clock = ContinuousClock()
            let coldStart = clock.now
            let before = try await Snapshot.capture(directory, parallelism: parallelism)
            let cold = clock.now - coldStart
            var best = Duration.seconds(1000)
            var captureOnly = Duration.seconds(1000)
            for _ in 0..<5 {
                let start = clock.now
                let after = try await Snapshot.capture(directory, parallelism: parallelism, baseline: before)
                let captured = clock.now
                let changes = after.changes(since: before)
                let end = clock.now
                #expect(changes.isEmpty)
                best = min(best, end - start)
                captureOnly = min(captureOnly, captured - start)
            }
            print("BENCH parallelism \(parallelism): \(before.entries.count) entries, first capture (xattrs read) \(cold), capture \(captureOnly), capture+diff \(best) (best of 5)")
        }
    }
}
