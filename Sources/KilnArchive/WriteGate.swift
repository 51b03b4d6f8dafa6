import Synchronization

/// The checkpoint that long synchronous writers (applying a layer, writing one, copying a
/// tree, ingesting a blob) pass between entries and between chunks of data. It closes when
/// the work is cancelled (``cancel()``, which an async caller wires to its task's
/// cancellation, since a thread of its own never sees `Task.isCancelled`) or when its `limit`
/// check fails (the disk reserve, see `KilnStorage.DiskReserve`); the writer then stops at
/// once by throwing, and its caller removes what it wrote.
///
/// Cancellation is looked at on every pass (one atomic load); `limit`, which costs a system
/// call, only after `bytesBetweenChecks` bytes or `entriesBetweenChecks` entries have gone by
/// since its last run, and on the first pass.
public final class WriteGate: Sendable {
    /// Throws to close the gate: why the writing must stop.
    public typealias Limit = @Sendable () throws -> Void

    private let limit: Limit?
    private let bytesBetweenChecks: Int
    private let entriesBetweenChecks: Int
    private let cancelled = Atomic<Bool>(false)
    /// Bytes and entries since `limit` last ran; nil before the first pass.
    private let sinceCheck = Mutex<(bytes: Int, entries: Int)?>(nil)

    /// A gate that only closes on cancellation or when `limit` throws.
    public init(bytesBetweenChecks: Int = 8 << 20, entriesBetweenChecks: Int = 256, limit: Limit? = nil) {
        self.limit = limit
        self.bytesBetweenChecks = bytesBetweenChecks
        self.entriesBetweenChecks = entriesBetweenChecks
    }

    /// A gate with no limit, for writers nobody bounds or cancels (tests, one-off tools).
    public static var unbounded: WriteGate { WriteGate() }

    /// Closes the gate: the next pass throws `CancellationError`. Safe from any thread.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// Passes one entry (a file, directory, link, whiteout).
    public func passEntry() throws { try pass(bytes: 0, entries: 1) }

    /// Passes `count` bytes about to be written or just written.
    public func passBytes(_ count: Int) throws { try pass(bytes: count, entries: 0) }

    private func pass(bytes: Int, entries: Int) throws {
        if isCancelled { throw CancellationError() }
        guard let limit else { return }
        let due = sinceCheck.withLock { counts -> Bool in
            guard var current = counts else {
                counts = (0, 0)
                return true
            }
            current.bytes += bytes
            current.entries += entries
            let due = current.bytes >= bytesBetweenChecks || current.entries >= entriesBetweenChecks
            counts = due ? (0, 0) : current
            return due
        }
        if due { try limit() }
    }
}
