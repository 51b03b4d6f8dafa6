import KilnOCI

/// One stage of the layer pipeline: takes bytes, passes (possibly transformed) bytes downstream.
///
/// Stages are classes because the C libraries behind them keep pointers into their state.
/// A pipeline is driven by one thread at a time; stages that use worker threads hide them.
protocol ByteSink: AnyObject {
    /// Consumes `bytes`; the buffer is only valid during the call.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes whatever is buffered and ends the stream (idempotence is not required).
    func finish() throws
}

/// Hashes and counts the bytes that pass through, then forwards them.
final class HashingSink: ByteSink {
    private var hasher = DigestHasher()
    private let downstream: any ByteSink

    init(downstream: any ByteSink) {
        self.downstream = downstream
    }

    /// Bytes seen so far.
    var byteCount: Int64 { hasher.byteCount }
    /// sha256 of the bytes seen so far.
    var digest: Digest { hasher.finalize() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try downstream.write(bytes)
    }

    func finish() throws {
        try downstream.finish()
    }
}

/// The end of a pipeline that hands bytes to a caller's closure (a file, an upload, a test).
final class ClosureSink: ByteSink {
    private let body: (UnsafeRawBufferPointer) throws -> Void

    init(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.body = body
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count > 0 { try body(bytes) }
    }

    func finish() throws {}
}
