import Foundation

/// Decodes a layer blob on a thread of its own, a few blocks ahead of the reader, so that
/// reading, decompressing and hashing the blob (one core) overlap with creating its entries
/// (system calls, another). Bounded: at most `depth` blocks of `blockSize` bytes exist.
///
/// The decoder is touched only by the decoding thread until the reader has seen the end
/// (``drain()``); after that the reader may read its digests.
final class LayerReadAhead: @unchecked Sendable {
    // @unchecked: every field below the decoder is read and written under `condition` only.
    private let decompressor: LayerDecompressor
    private let condition = NSCondition()
    private let blocks: [UnsafeMutableRawBufferPointer]
    private var free: [UnsafeMutableRawBufferPointer]
    private var ready: [(block: UnsafeMutableRawBufferPointer, count: Int)] = []
    /// The block the reader holds (valid until its next call).
    private var lent: UnsafeMutableRawBufferPointer?
    private var ended = false
    private var failure: (any Error)?
    private var stopped = false
    private var decoding = true

    /// Starts decoding `decompressor` ahead of the reader.
    init(_ decompressor: LayerDecompressor, blockSize: Int = 1 << 20, depth: Int = 4) {
        self.decompressor = decompressor
        blocks = (0..<depth).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16) }
        free = blocks
        let thread = Thread { [self] in decode() }
        thread.name = "kiln-layer-decode"
        thread.start()
    }

    deinit {
        close()
        for block in blocks { block.deallocate() }
    }

    /// The decoder, once ``drain()`` returned: its digests cover the whole blob.
    var drained: LayerDecompressor {
        condition.lock()
        defer { condition.unlock() }
        precondition(ended && !decoding, "the decoder is read before the blob was drained")
        return decompressor
    }

    /// The next decoded bytes (valid until the next call), empty at the end of the layer; a
    /// decoding failure is thrown once the blocks decoded before it have been read.
    func nextBlock() throws -> UnsafeRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        if let lent {
            free.append(lent)
            self.lent = nil
            condition.broadcast()
        }
        while ready.isEmpty && !ended { condition.wait() }
        if !ready.isEmpty {
            let next = ready.removeFirst()
            lent = next.block
            return UnsafeRawBufferPointer(rebasing: next.block[..<next.count])
        }
        if let failure { throw failure }
        return UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Reads to the end (the tar reader stops at the end-of-archive blocks; the digests cover
    /// every byte) and waits for the decoding thread.
    func drain() throws {
        while try !nextBlock().isEmpty {}
        condition.lock()
        while decoding { condition.wait() }
        condition.unlock()
    }

    /// Stops decoding and waits for the thread (the blob's file may be closed after this).
    func close() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while decoding { condition.wait() }
        condition.unlock()
    }

    private func decode() {
        while true {
            condition.lock()
            while free.isEmpty && !stopped { condition.wait() }
            if stopped {
                decoding = false
                condition.broadcast()
                condition.unlock()
                return
            }
            let block = free.removeLast()
            condition.unlock()

            // Whole blocks: fewer hand-overs between the threads.
            var filled = 0
            var error: (any Error)?
            do {
                while filled < block.count {
                    let count = try decompressor.read(into: UnsafeMutableRawBufferPointer(rebasing: block[filled...]))
                    if count == 0 { break }
                    filled += count
                }
            } catch let caught {
                error = caught
            }

            condition.lock()
            if filled > 0 { ready.append((block, filled)) } else { free.append(block) }
            if let error { failure = error }
            // A block left short means the decoder returned 0: the end of the blob.
            let finished = error != nil || filled < block.count
            if finished {
                ended = true
                decoding = false
            }
            condition.broadcast()
            condition.unlock()
            if finished { return }
        }
    }
}
