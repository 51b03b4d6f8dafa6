import Foundation
import Glibc
import KilnOCI

/// A digest and size of a blob held by the content store.
public struct StoredBlob: Sendable, Hashable {
    /// The blob's sha256 digest.
    public var digest: Digest
    /// The blob's size in bytes.
    public var size: Int64
}

/// Content-addressed blobs under `$KILN_ROOT/blobs/sha256/<hex>`.
///
/// Blobs are read out only through ``openVerified(_:size:usedBy:)`` (and the helpers built on
/// it, see `BlobIntegrity.swift`): the bytes must hash to the blob's name, else the blob is
/// quarantined and the reader fails before its consumer commits anything.
///
/// A blob appears under its name only once its bytes are verified and on disk: ingest writes a
/// temp file in `blobs/ingest/` (same filesystem), fsyncs it, renames it into place and fsyncs
/// the directory. Two processes ingesting the same blob both succeed; the second rename
/// replaces identical bytes. Ingests hold a shared lock on `blobs/.lock` and prune an exclusive
/// one, so prune never removes a blob or temp file that a live ingest is producing.
public struct ContentStore: Sendable {
    /// The `blobs/` directory.
    public let directory: URL
    /// What ingests leave free on the disk (the root's reserve).
    public let reserve: DiskReserve

    /// The content store of `root`.
    public init(root: KilnRoot) {
        self.directory = root.blobs
        self.reserve = root.reserve
    }

    var blobDirectory: String { directory.path + "/sha256" }
    private var ingestDirectory: String { directory.path + "/ingest" }
    private var lockPath: String { directory.path + "/.lock" }

    /// Where the blob with `digest` lives (whether or not it is present).
    public func path(for digest: Digest) -> URL {
        URL(fileURLWithPath: "\(blobDirectory)/\(digest.encoded)")
    }

    /// Whether the blob is present.
    public func exists(_ digest: Digest) -> Bool { size(of: digest) != nil }

    /// The blob's size, or nil when it is absent.
    public func size(of digest: Digest) -> Int64? {
        guard digest.algorithm == "sha256" else { return nil }
        var st = stat()
        guard stat(path(for: digest).path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Streams a blob in: `produce` writes its bytes to the `BlobWriter`.
    ///
    /// With `expected`, the bytes must hash to it (and with `size`, be that long), else nothing
    /// is stored and the error is `digestMismatch`/`sizeMismatch`; when the blob is already
    /// present `produce` is not called at all. Without `expected`, the blob is stored under the
    /// digest of whatever was written. A failure or cancellation inside `produce` leaves no temp
    /// file behind.
    @discardableResult
    public func ingest(
        expected: Digest? = nil, size: Int64? = nil,
        _ produce: (inout BlobWriter) async throws -> Void
    ) async throws -> StoredBlob {
        if let expected {
            guard expected.algorithm == "sha256" else { throw StorageError.unsupportedDigest(expected) }
            if let existing = self.size(of: expected), size == nil || size == existing {
                return StoredBlob(digest: expected, size: existing)
            }
        }
        try createDirectory(blobDirectory)
        try createDirectory(ingestDirectory)
        return try await withFileLock(path: lockPath, exclusive: false) {
            let tempPath = newIngestPath()
            let fd = try posix("open", tempPath) { Glibc.open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            var committed = false
            defer {
                close(fd)
                if !committed { unlink(tempPath) }
            }
            let gate = reserve.gate(for: directory, writing: "writing blob \(expected?.description ?? "to the content store")")
            var writer = BlobWriter(fd: fd, path: tempPath, expectedSize: size, gate: gate)
            try await produce(&writer)
            let actual = writer.hasher.finalize()
            if let size, writer.byteCount != size {
                throw StorageError.sizeMismatch(expected: size, actual: writer.byteCount)
            }
            if let expected, expected != actual {
                throw StorageError.digestMismatch(expected: expected, actual: actual)
            }
            try commit(tempPath, fd: fd, as: actual)
            committed = true
            return StoredBlob(digest: actual, size: writer.byteCount)
        }
    }

    /// Stores a blob that `produce` writes as a file of the store's own, in its ingest
    /// directory (the store's filesystem), so nothing is copied: the blob is written once.
    ///
    /// `produce` creates the file at the path it is given, writes it whole and returns the
    /// digest and size it computed while writing (a layer writer hashes what it compresses);
    /// the file must have that size, and is then stored under that digest. A failure inside
    /// `produce` leaves no file behind. Synchronous, holding the store's shared lock: call it
    /// from a thread of its own. `produce` must not read this store: a corrupt blob's quarantine
    /// takes the exclusive lock, which would wait for this very ingest.
    @discardableResult
    public func ingest(writingFile produce: (URL) throws -> StoredBlob) throws -> StoredBlob {
        try createDirectory(blobDirectory)
        try createDirectory(ingestDirectory)
        return try withFileLock(path: lockPath, exclusive: false) {
            let tempPath = newIngestPath()
            var committed = false
            defer { if !committed { unlink(tempPath) } }
            let written = try produce(URL(fileURLWithPath: tempPath))
            guard written.digest.algorithm == "sha256" else { throw StorageError.unsupportedDigest(written.digest) }
            let fd = try posix("open", tempPath) { Glibc.open(tempPath, O_RDONLY | O_CLOEXEC) }
            defer { close(fd) }
            var info = stat()
            try posix("fstat", tempPath) { fstat(fd, &info) }
            guard Int64(info.st_size) == written.size else {
                throw StorageError.sizeMismatch(expected: written.size, actual: Int64(info.st_size))
            }
            try commit(tempPath, fd: fd, as: written.digest)
            committed = true
            return written
        }
    }

    /// A temp file name in the ingest directory, named by the writing process (pid and start
    /// time): a reclaimer knows a dead build's temp files without waiting for the exclusive lock.
    private func newIngestPath() -> String {
        "\(ingestDirectory)/\(String(UInt64.random(in: .min ... .max), radix: 16))-\(ProcessIdentity.current)"
    }

    /// Puts the complete temp file at `tempPath` (open as `fd`) in place as `digest`: on disk
    /// first, then renamed, then the directory synced.
    private func commit(_ tempPath: String, fd: Int32, as digest: Digest) throws(StorageError) {
        try posix("fsync", tempPath) { fsync(fd) }
        let finalPath = path(for: digest).path
        // rename(2) atomically replaces a copy another process committed meanwhile: same bytes.
        try posix("rename", finalPath) { rename(tempPath, finalPath) }
        try syncDirectory(blobDirectory)
    }

    /// Ingests bytes held in memory.
    @discardableResult
    public func ingest<Bytes: DataProtocol & Sendable>(data: Bytes, expected: Digest? = nil) async throws -> StoredBlob {
        try await ingest(expected: expected, size: Int64(data.count)) { writer in
            for region in data.regions {
                try region.withUnsafeBytes { try writer.write($0) }
            }
        }
    }

    /// Ingests the contents of a file, reading it in chunks.
    @discardableResult
    public func ingest(contentsOf url: URL, expected: Digest? = nil, size: Int64? = nil) async throws -> StoredBlob {
        let source = url.path
        let fd = try posix("open", source) { Glibc.open(source, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        return try await ingest(expected: expected, size: size) { writer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try posix("read", source) { read(fd, buffer.baseAddress, buffer.count) }
                if count == 0 { break }
                try writer.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
        }
    }

    /// Removes one blob; returns whether it was there.
    @discardableResult
    public func delete(_ digest: Digest) throws -> Bool {
        try withFileLock(path: lockPath, exclusive: true) {
            try removeBlob(digest.encoded)
        }
    }

    /// Removes every blob not in `keep`, and temp files that crashed ingests left behind.
    /// Returns the digests removed.
    @discardableResult
    public func prune(keeping keep: Set<Digest>) throws -> [Digest] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try withFileLock(path: lockPath, exclusive: true) {
            // The exclusive lock means no ingest is live, so every temp file is garbage.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: ingestDirectory)) ?? [] {
                unlink("\(ingestDirectory)/\(name)")
            }
            let kept = Set(keep.filter { $0.algorithm == "sha256" }.map(\.encoded))
            var removed: [Digest] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: blobDirectory)) ?? [] where !kept.contains(name) {
                guard let digest = Digest("sha256:\(name)") else { continue }
                if try removeBlob(name) { removed.append(digest) }
            }
            if !removed.isEmpty { try syncDirectory(blobDirectory) }
            return removed.sorted()
        }
    }

    /// Removes the ingest temp files whose creator (`…-<pid>-<start time>`) no longer runs:
    /// nothing will commit them.
    func removeIngestFilesOfDeadProcesses() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: ingestDirectory)) ?? [] {
            let fields = name.split(separator: "-")
            guard fields.count >= 3, let pid = Int32(fields[fields.count - 2]), let start = UInt64(fields[fields.count - 1]),
                  ProcessIdentity.startTime(of: pid) != start else { continue }
            unlink("\(ingestDirectory)/\(name)")
        }
    }

    private func removeBlob(_ encoded: String) throws(StorageError) -> Bool {
        let path = "\(blobDirectory)/\(encoded)"
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw StorageError.system(operation: "unlink", path: path, errno: errno)
    }
}

/// `mkdir -p`.
func createDirectory(_ path: String, mode: mode_t = 0o755) throws(StorageError) {
    if mkdir(path, mode) == 0 || errno == EEXIST { return }
    if errno == ENOENT {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path {
            try createDirectory(parent, mode: mode)
            if mkdir(path, mode) == 0 || errno == EEXIST { return }
        }
    }
    throw StorageError.system(operation: "mkdir", path: path, errno: errno)
}

/// fsyncs a directory so a rename into it survives a crash.
func syncDirectory(_ path: String) throws(StorageError) {
    let fd = try posix("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(fd) }
    try posix("fsync", path) { fsync(fd) }
}
