/// Runs `body` for every element of `items` with at most `limit` running at once; the first
/// error cancels the others and is thrown once all have stopped.
func forEachConcurrently<Item: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let item = iterator.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await body(item) } }
        }
    }
}

/// Runs `body` for every element `items` yields, as it is yielded, with at most `limit` running
/// at once; returns when `items` has finished and every `body` has returned. For work that
/// arrives over time (layers as a build commits them), where the collection form above would
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
