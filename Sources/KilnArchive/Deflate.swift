import CZlib

/// A zlib deflate stream producing gzip framing, pinned in memory because zlib keeps a
/// pointer back to its `z_stream` and rejects a moved one.
///
/// zlib is used directly (rather than through a generic codec library) for level control
/// over one streaming gzip member (parallel gzip's whole-block members are libdeflate's).
final class DeflateStream {
    let stream: UnsafeMutablePointer<z_stream>

    /// Starts a gzip member at `level` (windowBits 15 + 16 selects the gzip wrapper, whose
    /// header zlib writes with mtime 0 and no name, so output depends on the input only).
    init(level: Int32) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw ArchiveError.codec("deflateInit2 failed (\(status)) at level \(level)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Runs deflate over `input`, handing every filled `output` chunk to `emit`.
    /// With `finish`, ends the member (header, data, crc32 and size trailer).
    func deflate(_ input: UnsafeRawBufferPointer, finish: Bool, output: UnsafeMutableRawBufferPointer,
                 emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = CZlib.deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw ArchiveError.codec("deflate failed (\(status))")
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
            if finish {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                return
            }
        }
    }
}
