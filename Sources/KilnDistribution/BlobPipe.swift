import NIOCore

/// A bounded hand-over of buffers from one task (a download) to another (an upload): the
/// writer waits while `capacity` buffers are queued, so a slow reader never makes a blob pile
/// up in memory. Either side can end it: the writer with ``finish(throwing:)``, the reader
/// with ``abandon()``, after which the writer's ``send(_:)`` throws.
actor BlobPipe {
    private let capacity: Int
    private var queue: [ByteBuffer] = []
    private var finished = false
    private var failure: (any Error)?
    private var abandoned = false
    private var waitingReader: CheckedContinuation<Void, Never>?
    private var waitingWriter: CheckedContinuation<Void, Never>?

    /// A pipe holding at most `capacity` buffers.
    init(capacity: Int = 8) {
        self.capacity = max(1, capacity)
    }

    /// Queues `buffer`, waiting for room; throws once the reader has abandoned the pipe.
    func send(_ buffer: ByteBuffer) async throws {
        while queue.count >= capacity, !abandoned {
            await withCheckedContinuation { waitingWriter = $0 }
        }
        if abandoned { throw CancellationError() }
        queue.append(buffer)
        wakeReader()
    }

    /// Ends the stream: the reader sees the end after the queued buffers, or `error`.
    func finish(throwing error: (any Error)? = nil) {
        finished = true
        failure = error
        wakeReader()
    }

    /// Tells the writer that nobody reads any more.
    func abandon() {
        abandoned = true
        queue.removeAll()
        wakeWriter()
    }

    /// The next buffer, nil at the end.
    func next() async throws -> ByteBuffer? {
        while queue.isEmpty, !finished {
            await withCheckedContinuation { waitingReader = $0 }
        }
        if !queue.isEmpty {
            let buffer = queue.removeFirst()
            wakeWriter()
            return buffer
        }
        if let failure { throw failure }
        return nil
    }

    private func wakeReader() {
        waitingReader?.resume()
        waitingReader = nil
    }

    private func wakeWriter() {
        waitingWriter?.resume()
        waitingWriter = nil
    }
}

extension BlobPipe {
    /// The reading end as an `AsyncSequence`, for an HTTP request body.
    nonisolated var buffers: Buffers { Buffers(pipe: self) }

    /// The buffers of a pipe, in order.
    struct Buffers: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let pipe: BlobPipe

        func makeAsyncIterator() -> Iterator { Iterator(pipe: pipe) }

        struct Iterator: AsyncIteratorProtocol {
            let pipe: BlobPipe
            mutating func next() async throws -> ByteBuffer? { try await pipe.next() }
        }
    }
}
