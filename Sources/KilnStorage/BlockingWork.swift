import Foundation
import KilnArchive

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

/// Runs `work` on a thread of its own, closing `gate` when the calling task is cancelled: the
/// work passes the gate between entries and chunks, so it stops within one of them instead
/// of running to its end (a thread never sees `Task.isCancelled`).
public func onOwnThread<T: Sendable>(closing gate: WriteGate, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskCancellationHandler {
        try Task.checkCancellation()
        return try await onOwnThread(work)
    } onCancel: {
        gate.cancel()
    }
}
