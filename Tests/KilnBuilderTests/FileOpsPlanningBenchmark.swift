import Foundation
@testable import KilnBuilder
import Testing

/// Measures planning a big context cold (no memo) and warm (memo from the cold run). Runs
/// only when `KILN_FILEOPS_BENCH_TREE` names a tree (`bench/make-tree.py DIR 20000 500`);
/// it prints times and asserts only that the warm run read no file.
@Suite("COPY planning of a big context")
struct FileOpsPlanningBenchmark {
    @Test("cold and warm planning", .enabled(if: ProcessInfo.processInfo.environment["KILN_FILEOPS_BENCH_TREE"] != nil))
    func coldAndWarm() async throws {
        let tree = URL(fileURLWithPath: ProcessInfo.processInfo.environment["KILN_FILEOPS_BENCH_TREE"]!)
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-fileops-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let context = try BuildContext(directory: tree, dockerfile: nil)
        let request = CopyRequest(sources: ["."], destination: "/app/")
        let clock = ContinuousClock()
        let cold = FileDigestMemo(file: state.appendingPathComponent("context-digests"))
        var plan: CopyPlan?
        let coldTime = try await clock.measure {
            plan = try await CopyPlanner(scratch: state, memo: cold).plan(request, from: .context(context))
        }
        let warm = FileDigestMemo(file: state.appendingPathComponent("context-digests"))
        let warmTime = try await clock.measure {
            _ = try await CopyPlanner(scratch: state, memo: warm).plan(request, from: .context(context))
        }
        print("fileops-bench entries=\(plan?.entryCount ?? 0) cold=\(coldTime) (misses \(await cold.misses)) warm=\(warmTime) (hits \(await warm.hits), misses \(await warm.misses))")
        #expect(await warm.misses == 0)
    }
}
