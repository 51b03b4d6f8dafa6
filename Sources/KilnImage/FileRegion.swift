import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A run of bytes inside a file: a whole blob file, or one entry of an uncompressed tar.
public struct FileRegion: Sendable, Hashable {
    /// The file.
    public var file: URL
    /// Where the bytes start.
    public var offset: Int64
    /// How many bytes there are.
    public var length: Int64

    /// A region of `file`.
    public init(file: URL, offset: Int64, length: Int64) {
        self.file = file
        self.offset = offset
        self.length = length
    }

    /// The whole of `file`, sized now.
    public init(wholeFile file: URL) throws {
        var info = stat()
        guard stat(file.path, &info) == 0 else { throw ImageError.lastSystemError("stat", file.path) }
        self.init(file: file, offset: 0, length: Int64(info.st_size))
    }

    /// Opens the region for reading.
    public func open() throws -> any BlobStream {
        try FileRegionStream(self)
    }

    /// The whole region as bytes, for the small documents (manifests, configs) that are read whole.
    public func readAll(limit: Int64 = 64 << 20) throws -> Data {
        guard length <= limit else {
            throw ImageError.malformed(path: file.path, reason: "document of \(length) bytes exceeds \(limit)")
        }
        var data = Data(capacity: Int(length))
        try open().forEachChunk { data.append(contentsOf: $0) }
        return data
    }
}

/// Reads a ``FileRegion`` with `pread`, so many streams may share one file.
final class FileRegionStream: BlobStream {
    private let fd: Int32
    private let region: FileRegion
    private var position: Int64 = 0

    init(_ region: FileRegion) throws {
        fd = Glibc.open(region.file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError.lastSystemError("open", region.file.path) }
        self.region = region
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), region.length - position))
        guard want > 0 else { return 0 }
        while true {
            let count = pread(fd, buffer.baseAddress, want, off_t(region.offset + position))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ImageError.lastSystemError("read", region.file.path) }
            guard count > 0 else {
                throw ImageError.malformed(path: region.file.path, reason: "file ends before the blob does")
            }
            position += Int64(count)
            return count
        }
    }
}
