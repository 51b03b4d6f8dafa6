import Foundation

/// Runs synchronous, long-running work (applying a layer, copying a tree) on a thread of its
/// own, so it does not hold one of the few threads of Swift's cooperative pool.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try work() })
        }
        thread.start()
    }
}
