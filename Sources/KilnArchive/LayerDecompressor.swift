import CZlib
import CZstd
import KilnOCI

/// Reads a layer blob and yields its uncompressed tar bytes, choosing the codec (gzip, zstd,
/// none) by magic number and hashing both sides on the way (blob digest and diffID). Kiln's one
/// decoder of layer blobs: layer application, the output rewriter and the docker-archive
/// exporter all read through it.
public final class LayerDecompressor {
    private let source: any ByteSource
    /// Names the blob in errors.
    private let name: String
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    private var inputStart = 0
    private var inputEnd = 0
    private var inputEOF = false
    private var compressedHasher = DigestHasher()
    private var uncompressedHasher = DigestHasher()
    private var codec: Codec

    /// The compression found from the blob's first bytes.
    public let compression: LayerCompression

    private enum Codec {
        case none
        case gzip(UnsafeMutablePointer<z_stream>, finished: Bool)
        case zstd(OpaquePointer, lastResult: Int)
    }

    /// Decodes the blob in the open file `fd` (not closed here); `path` names it in errors.
    convenience init(fd: Int32, path: String) throws {
        try self.init(source: FileDescriptorSource(fd: fd, path: path), name: path)
    }

    /// Decodes the blob `source` yields; `name` (a path or digest) names it in errors.
    public init(source: any ByteSource, name: String) throws {
        self.source = source
        self.name = name
        codec = .none
        inputEnd = try source.read(into: input)
        inputEOF = inputEnd == 0
        compressedHasher.update(UnsafeRawBufferPointer(rebasing: input[..<inputEnd]))
        compression = LayerCompression.detect(UnsafeRawBufferPointer(rebasing: input[..<inputEnd]))
        switch compression {
        case .gzip, .parallelGzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 32: accept zlib or gzip headers; members are chained by hand below.
            let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                stream.deallocate()
                throw ArchiveError.codec("inflateInit2 failed (\(status))")
            }
            codec = .gzip(stream, finished: false)
        case .zstd:
            guard let context = ZSTD_createDCtx() else { throw ArchiveError.codec("ZSTD_createDCtx failed") }
            codec = .zstd(context, lastResult: 0)
        case .none:
            codec = .none
        }
    }

    deinit {
        switch codec {
        case .gzip(let stream, _):
            inflateEnd(stream)
            stream.deallocate()
        case .zstd(let context, _):
            ZSTD_freeDCtx(context)
        case .none:
            break
        }
        input.deallocate()
    }

    /// sha256 of the blob as stored (as far as read; all of it once ``read(into:)`` returned 0).
    public var blobDigest: Digest { compressedHasher.finalize() }
    /// sha256 of the uncompressed tar stream read so far: the diffID once drained.
    public var diffID: Digest { uncompressedHasher.finalize() }
    /// Uncompressed bytes produced so far.
    public var uncompressedSize: Int64 { uncompressedHasher.byteCount }

    /// Fills `buffer` with the next uncompressed bytes; returns 0 at the end of the layer, by
    /// which time the whole blob (trailing bytes included) has been read.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if inputStart == inputEnd && !inputEOF { try refill() }
            // Decoding runs even on empty input: zstd may still hold output from earlier input.
            let produced = try decode(into: buffer)
            if produced > 0 {
                uncompressedHasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<produced]))
                return produced
            }
            if inputStart == inputEnd && inputEOF {
                try checkComplete()
                return 0
            }
        }
    }

    /// Reads to the end, so the digests cover trailing bytes libarchive never asked for.
    public func drain() throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
    }

    private func refill() throws {
        inputStart = 0
        inputEnd = try source.read(into: input)
        if inputEnd == 0 { inputEOF = true }
        compressedHasher.update(UnsafeRawBufferPointer(rebasing: input[..<inputEnd]))
    }

    private func decode(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch codec {
        case .none:
            let n = min(buffer.count, inputEnd - inputStart)
            buffer.baseAddress!.copyMemory(from: input.baseAddress! + inputStart, byteCount: n)
            inputStart += n
            return n
        case .gzip(let stream, let finished):
            if finished {
                if inputStart == inputEnd { return 0 }
                // After a member ends, another may follow (parallel gzip); anything else is trailing
                // padding that gzip -d also ignores.
                if input[inputStart] == 0x1f {
                    inflateReset(stream)
                    codec = .gzip(stream, finished: false)
                } else {
                    inputStart = inputEnd
                    while try !refillDiscarding() {}
                    return 0
                }
            }
            stream.pointee.next_in = (input.baseAddress! + inputStart).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(inputEnd - inputStart)
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(buffer.count)
            let status = inflate(stream, Z_NO_FLUSH)
            inputStart = inputEnd - Int(stream.pointee.avail_in)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw ArchiveError.codec("\(name): gzip data is corrupt (inflate \(status))")
            }
            if status == Z_STREAM_END { codec = .gzip(stream, finished: true) }
            return buffer.count - Int(stream.pointee.avail_out)
        case .zstd(let context, _):
            var inBuf = ZSTD_inBuffer(src: input.baseAddress! + inputStart, size: inputEnd - inputStart, pos: 0)
            var outBuf = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let result = ZSTD_decompressStream(context, &outBuf, &inBuf)
            if ZSTD_isError(result) != 0 {
                throw ArchiveError.codec("\(name): zstd data is corrupt: \(String(cString: ZSTD_getErrorName(result)))")
            }
            inputStart += inBuf.pos
            // A call that moved nothing reports the next frame's header size; keep the last real answer.
            if inBuf.pos > 0 || outBuf.pos > 0 { codec = .zstd(context, lastResult: result) }
            return outBuf.pos
        }
    }

    /// Reads and hashes the rest of the blob without decoding it; true at end of file.
    private func refillDiscarding() throws -> Bool {
        try refill()
        inputStart = inputEnd
        return inputEOF
    }

    private func checkComplete() throws {
        switch codec {
        case .gzip(_, let finished) where !finished:
            throw ArchiveError.codec("\(name): gzip stream is truncated")
        case .zstd(_, let last) where last != 0:
            throw ArchiveError.codec("\(name): zstd stream is truncated")
        default:
            break
        }
    }
}
