import KilnOCI
#if canImport(Glibc)
import Glibc
#endif

/// How a layer's tar stream is compressed.
public enum LayerCompression: Sendable, Hashable {
    /// Plain tar.
    case none
    /// One gzip stream at `level` (1…9), compressed on the calling thread.
    case gzip(level: Int32 = 6)
    /// gzip compressed on `threads` worker threads (nil: all cores): the tar stream is cut into
    /// `blockSize`-byte blocks, each an independent gzip member, written in order.
    /// Any gzip reader (gzip -d, Python, Go, containerd) reads the concatenation as one stream.
    case parallelGzip(level: Int32 = 6, blockSize: Int = 1 << 20, threads: Int? = nil)
    /// zstd at `level` through libzstd, using its worker threads when the library has them.
    case zstd(level: Int32 = 3)

    /// The OCI media type of a layer compressed this way.
    public var mediaType: MediaType {
        switch self {
        case .none: return .ociLayer
        case .gzip, .parallelGzip: return .ociLayerGzip
        case .zstd: return .ociLayerZstd
        }
    }

    /// The compression `bytes` (the start of a blob) begins with, judged by magic number:
    /// gzip `1f 8b`, zstd `28 b5 2f fd`, anything else is taken as plain tar.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> LayerCompression {
        if bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b { return .gzip() }
        if bytes.count >= 4, bytes[0] == 0x28, bytes[1] == 0xb5, bytes[2] == 0x2f, bytes[3] == 0xfd { return .zstd() }
        return .none
    }

    /// A compressing stage that writes into `downstream`.
    func makeCompressor(downstream: any ByteSink) throws -> any ByteSink {
        switch self {
        case .none:
            return downstream
        case .gzip(let level):
            return try GzipCompressor(level: level, downstream: downstream)
        case .parallelGzip(let level, let blockSize, let threads):
            let workers = max(1, threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            return ParallelGzipCompressor(level: level, blockSize: max(blockSize, 64 << 10),
                                          workers: workers, downstream: downstream)
        case .zstd(let level):
            return try ZstdCompressor(level: level, downstream: downstream)
        }
    }
}
