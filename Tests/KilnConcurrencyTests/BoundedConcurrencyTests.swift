import KilnConcurrency
import Testing

/// What every bounded loop of Kiln relies on: never more than `limit` at once, results in the
/// input's order for `mapConcurrently`, and the first error stopping the rest before it is thrown.
@Suite struct BoundedConcurrencyTests {
    /// Counts tasks running at once and remembers the most seen.
    actor Gauge {
        private(set) var running = 0
        private(set) var most = 0
        private(set) var finished = 0
        func enter() { running += 1; most = max(most, running) }
        func leave() { running -= 1; finished += 1 }
    }

    @Test func neverMoreThanTheLimitAtOnce() async throws {
        let gauge = Gauge()
        try await forEachConcurrently(0..<40, limit: 3) { _ in
            await gauge.enter()
            await Task.yield()
            await gauge.leave()
        }
        #expect(await gauge.most <= 3)
        #expect(await gauge.finished == 40)
    }

    @Test func mapKeepsTheOrderOfTheItems() async throws {
        let squares = try await mapConcurrently(Array(0..<25), limit: 4) { value in
            // Later items finish first when they can.
            for _ in 0..<(25 - value) { await Task.yield() }
            return value * value
        }
        #expect(squares == (0..<25).map { $0 * $0 })
    }

    struct Failure: Error, Equatable {}

    @Test func theFirstErrorCancelsTheOthersAndIsThrownOnceAllStopped() async throws {
        let gauge = Gauge()
        await #expect(throws: Failure.self) {
            try await forEachConcurrently(0..<100, limit: 4) { index in
                await gauge.enter()
                if index == 2 {
                    await gauge.leave()
                    throw Failure()
                }
                // Waits until cancelled: only the failure can end the loop.
                while !Task.isCancelled { await Task.yield() }
                await gauge.leave()
                throw CancellationError()
            }
        }
        // The four started before the failure were all stopped before it was thrown, and no
        // item after them was started.
        #expect(await gauge.running == 0)
        #expect(await gauge.finished == 4)
    }

    @Test func anErrorOfReceiveStopsTheLoopToo() async throws {
        var received: [Int] = []
        await #expect(throws: Failure.self) {
            try await forEachConcurrently(0..<10, limit: 2, { $0 }, receive: { value in
                received.append(value)
                if received.count == 3 { throw Failure() }
            })
        }
        #expect(received.count == 3)
    }
}
