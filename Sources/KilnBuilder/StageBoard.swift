/// Where stages publish their outcome and where the stages needing them wait: the edges
/// of the stage DAG, so independent stages run concurrently and dependants start as soon
/// as what they read is done.
actor StageBoard {
    private var outcomes: [Int: Result<StageOutcome, any Error>] = [:]
    private var waiters: [Int: [CheckedContinuation<StageOutcome, any Error>]] = [:]

    /// The outcome of stage `index`, waiting for it; throws when that stage failed.
    func outcome(of index: Int) async throws -> StageOutcome {
        if let outcome = outcomes[index] { return try outcome.get() }
        return try await withCheckedThrowingContinuation { continuation in
            waiters[index, default: []].append(continuation)
        }
    }

    /// Records how stage `index` ended and wakes its waiters.
    func publish(_ index: Int, _ outcome: Result<StageOutcome, any Error>) {
        outcomes[index] = outcome
        for waiter in waiters.removeValue(forKey: index) ?? [] { waiter.resume(with: outcome) }
    }
}
