import ArgumentParser
import Foundation
import KilnStorage

/// `kiln debug snapshot-diff`: times what Kiln does after every build step on an unchanged
/// tree — capture a snapshot and diff it against the previous one — for bench/layers.sh.
struct DebugSnapshotDiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot-diff",
        abstract: "Snapshot a directory twice and diff the snapshots; print the timings.",
        shouldDisplay: false
    )

    @Option(help: "How many times to repeat the second snapshot + diff (the best is printed).")
    var iterations: Int = 5

    @Argument(help: "The directory to snapshot.")
    var directory: String

    func run() async throws {
        let root = URL(fileURLWithPath: directory)
        let clock = ContinuousClock()
        let firstStart = clock.now
        let before = try await Snapshot.capture(root)
        let first = clock.now - firstStart
        var best = Duration.seconds(1_000_000)
        var changeCount = 0
        for _ in 0..<max(1, iterations) {
            let start = clock.now
            let after = try await Snapshot.capture(root, baseline: before)
            changeCount = after.changes(since: before).count
            best = min(best, clock.now - start)
        }
        func seconds(_ d: Duration) -> String {
            String(format: "%.4f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        TerminalText.print("entries=\(before.entries.count) first_snapshot=\(seconds(first)) snapshot_plus_diff=\(seconds(best)) changes=\(changeCount)")
    }
}
