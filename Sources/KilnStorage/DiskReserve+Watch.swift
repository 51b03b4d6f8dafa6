import Foundation

extension DiskReserve {
    /// Runs `body` while watching the filesystem of `directory` every `interval`; once it falls
    /// below the reserve, `body` is cancelled (a `RUN` step's container is killed that way) and
    /// the error is ``StorageError/diskReserveReached(_:)`` naming `what`. For writers Kiln does
    /// not drive itself, such as the command a `RUN` step runs, which cannot pass a ``WriteGate``.
    public func bounding<T: Sendable>(
        _ directory: URL, writing what: String, interval: Duration = .milliseconds(250),
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        if self == .none { return try await body() }
        try check(directory.path, writing: what)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    try check(directory.path, writing: what)
                }
            }
            defer { group.cancelAll() }
            // The first child to finish decides: the body's result, or the watcher's error.
            guard let first = try await group.next(), let result = first else { throw CancellationError() }
            return result
        }
    }
}
