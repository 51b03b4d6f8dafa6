import Foundation
import Glibc
import KilnOCI

/// The store's one rule for what leaves it: a blob is used only once the bytes read hash to its
/// name (and are as many as its descriptor says). Every reader of store blobs — exporters, the
/// pusher, snapshot unpacking, the output rewriter — checks through here, while the bytes stream
/// (``VerifyingBlobReader``), before it commits anything. A blob that fails is quarantined:
/// moved out of `blobs/` into `$KILN_ROOT/quarantine/`, so the store no longer claims it; base
/// layers are then fetched again and a step's cache entry is a miss, so it is rebuilt.
extension ContentStore {
    /// `quarantine/`, beside `blobs/`.
    public var quarantineDirectory: URL {
        directory.deletingLastPathComponent().appendingPathComponent("quarantine")
    }

    /// Opens blob `digest` for a verified read; `size` is the descriptor's, `usedBy` names what
    /// needs it (for the error).
    public func openVerified(_ digest: Digest, size: Int64?, usedBy: String) throws -> VerifyingBlobReader {
        try VerifyingBlobReader(store: self, digest: digest, expectedSize: size, usedBy: usedBy)
    }

    /// Reads the whole blob and checks it: for a consumer that did not read the bytes through a
    /// ``VerifyingBlobReader`` (a failure to explain, an upload that reads the file itself).
    public func verifyBlob(_ digest: Digest, size: Int64?, usedBy: String) throws {
        try openVerified(digest, size: size, usedBy: usedBy).finish()
    }

    /// The decision: throws ``StorageError/corruptBlob`` (after quarantining the file `read`
    /// describes) when the bytes read, `actual`, are not `digest`. Bytes that do hash to the
    /// name are the blob, whatever a descriptor says: a size that disagrees is the
    /// descriptor's error (``StorageError/sizeMismatch``), and the blob stays.
    func confirm(_ digest: Digest, actual: Digest, expectedSize: Int64?, actualSize: Int64, usedBy: String,
                 read file: stat) throws {
        if actual == digest {
            if let expectedSize, expectedSize != actualSize {
                throw StorageError.sizeMismatch(expected: expectedSize, actual: actualSize)
            }
            return
        }
        let quarantined = quarantine(digest, ifStill: file)
        throw StorageError.corruptBlob(digest: digest, actual: actual, expectedSize: expectedSize, actualSize: actualSize,
                                       usedBy: usedBy, quarantinedAs: quarantined)
    }

    /// Moves blob `digest` to `quarantine/<hex>-<time>` unless the file under its name is no
    /// longer the one read (another process ingested a good copy meanwhile). Returns where it
    /// went; nil when nothing was moved.
    private func quarantine(_ digest: Digest, ifStill file: stat) -> String? {
        let source = path(for: digest).path
        let target = quarantineDirectory.appendingPathComponent("\(digest.encoded)-\(Int(Date().timeIntervalSince1970))-\(getpid())").path
        return try? withFileLock(path: directory.path + "/.lock", exclusive: true) { () -> String? in
            var current = stat()
            guard lstat(source, &current) == 0, current.st_ino == file.st_ino, current.st_dev == file.st_dev else { return nil }
            try createDirectory(quarantineDirectory.path, mode: 0o700)
            guard rename(source, target) == 0 else { return nil }
            try? syncDirectory(directory.path + "/sha256")
            return target
        }
    }
}
