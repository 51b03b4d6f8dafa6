import Foundation
import Glibc

/// Reads one output pipe of a chrooted step on a thread of its own and hands out its lines
/// (without terminators). It ends at end of file, or once ``stop(after:)``'s grace period has
/// passed: a process that left the step's session may hold the pipe open for ever.
final class PipeReader: @unchecked Sendable {
    /// The lines, as they arrive.
    let lines: AsyncStream<OutputLine>
    private let fd: Int32
    private let stream: OutputLine.Stream
    private let continuation: AsyncStream<OutputLine>.Continuation
    private let lock = NSLock()
    private var deadline: Date?

    /// Starts reading `fd`, which the reader closes when it ends.
    init(fd: Int32, stream: OutputLine.Stream) {
        self.fd = fd
        self.stream = stream
        (lines, continuation) = AsyncStream.makeStream(of: OutputLine.self)
        Thread.detachNewThread { [self] in readUntilEnd() }
    }

    /// Ends reading `seconds` from now if the pipe is still open then.
    func stop(after seconds: TimeInterval) {
        lock.withLock { deadline = Date().addingTimeInterval(seconds) }
    }

    private func readUntilEnd() {
        defer {
            close(fd)
            continuation.finish()
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready == 0 {
                if let deadline = lock.withLock({ deadline }), Date() > deadline { break }
                continue
            }
            if ready < 0 { if errno == EINTR { continue } else { break } }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { if errno == EINTR { continue } else { break } }
            if count == 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                continuation.yield(OutputLine(stream: stream, text: String(decoding: pending[..<newline], as: UTF8.self)))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { continuation.yield(OutputLine(stream: stream, text: String(decoding: pending, as: UTF8.self))) }
    }
}
