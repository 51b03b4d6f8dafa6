import Foundation
import KilnArchive
import Synchronization
import Testing

/// The gate long writers pass: cancellation at every pass, the limit amortised.
@Suite struct WriteGateTests {
    /// Counts how often the limit ran, and throws once `failAfter` runs are done.
    final class Limit: Sendable {
        let runs = Mutex(0)
        let failAfter: Int
        init(failAfter: Int = .max) { self.failAfter = failAfter }
        func run() throws {
            let count = runs.withLock { $0 += 1; return $0 }
            if count > failAfter { throw ArchiveError.codec("limit reached") }
        }
    }

    @Test func limitRunsFirstThenEveryIntervalOfBytesOrEntries() throws {
        let limit = Limit()
        let gate = WriteGate(bytesBetweenChecks: 100, entriesBetweenChecks: 10) { try limit.run() }
        try gate.passEntry()
        #expect(limit.runs.withLock { $0 } == 1)
        for _ in 0..<9 { try gate.passEntry() }
        #expect(limit.runs.withLock { $0 } == 1)
        try gate.passEntry()
        #expect(limit.runs.withLock { $0 } == 2)
        try gate.passBytes(99)
        #expect(limit.runs.withLock { $0 } == 2)
        try gate.passBytes(1)
        #expect(limit.runs.withLock { $0 } == 3)
    }

    @Test func aFailingLimitStopsTheWriter() throws {
        let limit = Limit(failAfter: 1)
        let gate = WriteGate(bytesBetweenChecks: 10) { try limit.run() }
        try gate.passBytes(5)
        #expect(throws: ArchiveError.self) { try gate.passBytes(10) }
    }

    @Test func cancellationClosesTheGateAtTheNextPass() throws {
        let gate = WriteGate()
        try gate.passEntry()
        gate.cancel()
        #expect(gate.isCancelled)
        #expect(throws: CancellationError.self) { try gate.passBytes(1) }
        #expect(throws: CancellationError.self) { try gate.passEntry() }
    }

    /// Layer application stops at a closed gate, not at the end of the layer.
    @Test func applicationStopsAtAClosedGate() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/layer-apply/plain-files.tar")
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: target) }
        let limit = Limit(failAfter: 1)
        let gate = WriteGate(bytesBetweenChecks: .max, entriesBetweenChecks: 2) { try limit.run() }
        #expect(throws: ArchiveError.self) { try LayerApplier().apply(layer: corpus, to: target, gate: gate) }
        // The first two entries (etc/, etc/hostname) went in; the limit stopped the third.
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("etc/hostname").path))
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("bin").path))
    }
}
