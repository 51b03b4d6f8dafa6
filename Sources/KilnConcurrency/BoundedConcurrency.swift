/// Runs `work` for every element of `items` with at most `limit` running at once and hands each
/// result to `receive` on the caller's task as it finishes (in finishing order), so results can
/// be folded in without a lock and without holding them all. The first error — of `work` or of
/// `receive` — cancels the others and is thrown once all have stopped.
///
/// This is the one bounded-concurrency loop: the other forms below are this with a fixed
/// `receive`.
public func forEachConcurrently<Item: Sendable, Result: Sendable>(
    _ items: some Sequence<Item>, limit: Int,
    _ work: @escaping @Sendable (Item) async throws -> Result,
    receive: (Result) throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Result.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let item = iterator.next() else { break }
            group.addTask { try await work(item) }
        }
        while let result = try await group.next() {
            try receive(result)
            if let item = iterator.next() { group.addTask { try await work(item) } }
        }
    }
}

/// Runs `body` for every element of `items` with at most `limit` running at once; the first
/// error cancels the others and is thrown once all have stopped.
public func forEachConcurrently<Item: Sendable>(
    _ items: some Sequence<Item>, limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void
) async throws {
    try await forEachConcurrently(items, limit: limit, body, receive: { (_: Void) in })
}

/// `transform` applied to every element of `items`, at most `limit` at once, in the order of
/// `items`; the first error cancels the others and is thrown once all have stopped.
public func mapConcurrently<Item: Sendable, Result: Sendable>(
    _ items: some Collection<Item>, limit: Int, _ transform: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    var results = [Result?](repeating: nil, count: items.count)
    try await forEachConcurrently(Array(items).enumerated(), limit: limit, { (index, item) in
        (index, try await transform(item))
    }, receive: { results[$0.0] = $0.1 })
    return results.map { $0! }
}

/// Runs `body` for every element `items` yields, as it is yielded, with at most `limit` running
/// at once; returns when `items` has finished and every `body` has returned. For work that
/// arrives over time (layers as a build commits them), where the collection forms above would
/// have to wait for all of it.
public func forEachConcurrently<Item: Sendable>(
    _ items: AsyncStream<Item>, limit: Int, _ body: @escaping @Sendable (Item) async -> Void
) async {
    await withTaskGroup(of: Void.self) { group in
        var running = 0
        for await item in items {
            if running >= max(1, limit) {
                await group.next()
                running -= 1
            }
            group.addTask { await body(item) }
            running += 1
        }
    }
}
