import Glibc
import KilnArchive
import KilnOCI

/// Reads one content-store blob front to back, hashing it on the way: when the end is reached
/// (the read that returns 0) the digest and size are checked by ``ContentStore``'s one rule, so
/// a consumer that reads to the end before committing its output commits nothing from a corrupt
/// blob. A corrupt blob is quarantined and the read throws ``StorageError/corruptBlob``.
///
/// Used by one thread at a time; never holds more than one buffer of the blob.
public final class VerifyingBlobReader: ByteSource {
    /// The blob's name.
    public let digest: Digest
    /// The size its descriptor gives, when known.
    public let expectedSize: Int64?
    /// What needs the blob (an image's layer, a step's layer), for the error.
    public let usedBy: String
    private let store: ContentStore
    private let fd: Int32
    private let opened: stat
    private var hasher = DigestHasher()
    private var checked = false

    init(store: ContentStore, digest: Digest, expectedSize: Int64?, usedBy: String) throws {
        guard digest.algorithm == "sha256" else { throw StorageError.unsupportedDigest(digest) }
        let path = store.path(for: digest).path
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw StorageError.blobNotFound(digest) }
            throw StorageError.system(operation: "open", path: path, errno: errno)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw StorageError.system(operation: "stat", path: path, errno: code)
        }
        self.store = store
        self.digest = digest
        self.expectedSize = expectedSize
        self.usedBy = usedBy
        self.fd = fd
        self.opened = info
    }

    deinit { close(fd) }

    /// sha256 and count of the bytes read so far.
    public var bytesRead: (digest: Digest, size: Int64) { (hasher.finalize(), hasher.byteCount) }

    /// The next bytes; at the end, the blob is checked (and the call throws if it is corrupt).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if checked { return 0 }
        let count = try posix("read", store.path(for: digest).path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        if count == 0 {
            checked = true
            try store.confirm(digest, actual: hasher.finalize(), expectedSize: expectedSize, actualSize: hasher.byteCount,
                              usedBy: usedBy, read: opened)
            return 0
        }
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        return count
    }

    /// Reads whatever is left and checks the whole blob.
    public func finish() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
    }

    /// What to report for `error`, met while the blob was being used: the blob's corruption when
    /// it is corrupt (the rest is read to find out; a corrupt gzip stream fails before its end),
    /// else `error` itself.
    public func explain(_ error: any Error) -> any Error {
        if case StorageError.corruptBlob = error { return error }
        do { try finish() } catch let corrupt as StorageError {
            if case .corruptBlob = corrupt { return corrupt }
        } catch {}
        return error
    }
}

extension ContentStore {
    /// Runs `body` on a verified read of blob `digest` and checks the whole blob before
    /// returning: what `body` produced may be committed only after this returns. A failure in
    /// `body` is reported as the blob's corruption when the blob is corrupt.
    public func readingVerified<T>(_ digest: Digest, size: Int64?, usedBy: String,
                                   _ body: (VerifyingBlobReader) throws -> T) throws -> T {
        let reader = try openVerified(digest, size: size, usedBy: usedBy)
        do {
            let result = try body(reader)
            try reader.finish()
            return result
        } catch {
            throw reader.explain(error)
        }
    }
}
