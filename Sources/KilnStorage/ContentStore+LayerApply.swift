import Foundation
import KilnArchive
import KilnOCI

extension ContentStore {
    /// Applies store blob `digest` onto `directory` with `applier`, and holds it to the store's
    /// rule: the applier hashes the blob as it reads it, and a digest that does not match, or a
    /// failure that the blob's corruption explains (a gzip stream that breaks off), is reported
    /// as ``StorageError/corruptBlob`` and the blob quarantined. The caller commits `directory`
    /// (renames it into place) only after this returns.
    ///
    /// Synchronous: call it from a thread of its own.
    public func applyLayer(_ digest: Digest, to directory: URL, with applier: LayerApplier = LayerApplier(),
                           gate: WriteGate = .unbounded, usedBy: String) throws -> LayerApplyResult {
        let result: LayerApplyResult
        do {
            result = try applier.apply(layer: path(for: digest), to: directory, gate: gate)
        } catch {
            // Only a failure reads the blob again, to tell corruption from a bad layer.
            throw (try? openVerified(digest, size: nil, usedBy: usedBy))?.explain(error) ?? error
        }
        if result.digest != digest {
            try verifyBlob(digest, size: nil, usedBy: usedBy)
            // Replaced by a good copy since it was applied: what was applied was still corrupt.
            throw StorageError.digestMismatch(expected: digest, actual: result.digest)
        }
        return result
    }

    /// The digest of the blob at `url` when `url` is a blob of this store.
    public func digest(ofBlobAt url: URL) -> Digest? {
        guard url.deletingLastPathComponent().standardizedFileURL.path == URL(fileURLWithPath: blobDirectory).standardizedFileURL.path
        else { return nil }
        return Digest("sha256:\(url.lastPathComponent)")
    }
}
