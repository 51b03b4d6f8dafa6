import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// zstd through libzstd's streaming API, with its own worker threads when the library was
/// built with them (Debian's is). With any worker count ≥ 1 libzstd's output does not depend
/// on the number of workers, so layers stay byte-identical across machines.
final class ZstdCompressor: ByteSink {
    private let context: OpaquePointer
    private let downstream: any ByteSink
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)

    init(level: Int32, downstream: any ByteSink) throws {
        guard let context = ZSTD_createCCtx() else { throw ArchiveError.codec("ZSTD_createCCtx failed") }
        self.context = context
        self.downstream = downstream
        try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "compression level \(level)")
        try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), "checksum flag")
        let cores = Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // Fails on a single-threaded libzstd; compressing on the calling thread is then the fallback.
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, cores)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try drive(&input, ZSTD_e_continue)
        }
    }

    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try drive(&input, ZSTD_e_end) != 0 {}
        try downstream.finish()
    }

    /// One compressStream2 call; returns what libzstd says remains to flush.
    private func drive(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        try Self.check(remaining, "compressStream2")
        if out.pos > 0 { try downstream.write(UnsafeRawBufferPointer(rebasing: output[..<out.pos])) }
        return remaining
    }

    private static func check(_ code: Int, _ what: String) throws {
        if ZSTD_isError(code) != 0 {
            throw ArchiveError.codec("zstd \(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }
}
