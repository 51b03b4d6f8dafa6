/// Single-stream gzip on the calling thread: the smallest output, and the slowest codec.
final class GzipCompressor: ByteSink {
    private let deflater: DeflateStream
    private let downstream: any ByteSink
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)

    init(level: Int32, downstream: any ByteSink) throws {
        deflater = try DeflateStream(level: level)
        self.downstream = downstream
    }

    deinit { output.deallocate() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try deflater.deflate(bytes, finish: false, output: output) { try downstream.write($0) }
    }

    func finish() throws {
        try deflater.deflate(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, output: output) {
            try downstream.write($0)
        }
        try downstream.finish()
    }
}
