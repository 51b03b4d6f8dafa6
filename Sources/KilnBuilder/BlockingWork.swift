import Foundation

/// Runs synchronous disk- or CPU-bound work (tarring a layer, reading a layout) on a thread of
/// its own, so it never holds one of the few threads of Swift's cooperative pool.
enum BlockingWork {
    /// Runs `body` on a new thread and returns (or throws) what it did.
    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
