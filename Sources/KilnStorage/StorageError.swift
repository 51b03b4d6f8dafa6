import Glibc
import KilnOCI

/// Why a storage operation failed.
public enum StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call failed; `errno` is the C error number.
    case system(operation: String, path: String, errno: Int32)
    /// The bytes ingested do not hash to the digest the caller promised.
    case digestMismatch(expected: Digest, actual: Digest)
    /// The bytes ingested are not as many as the caller promised.
    case sizeMismatch(expected: Int64, actual: Int64)
    /// The content store holds no blob with this digest.
    case blobNotFound(Digest)
    /// The content store keeps sha256 blobs only.
    case unsupportedDigest(Digest)
    /// A layer's uncompressed content does not hash to the diffID the image config lists.
    case diffIDMismatch(layer: String, expected: Digest, actual: Digest)
    /// Kiln's root belongs to another user; sharing it would give that user's builds (and
    /// that user) this user's images, secrets and setuid files.
    case notOwner(path: String, owner: UInt32)
    /// The overlay upper directory holds something Kiln cannot turn into a layer change.
    case unsupportedOverlayEntry(path: String, reason: String)
    /// An overlay of this many lowers cannot be mounted here (its options exceed what `mount(2)`
    /// takes and the kernel or libc lacks `lowerdir+`): the caller flattens the stack.
    case overlayTooDeep(lowers: Int)
    /// Writing stopped because free space or free inodes fell below the ``DiskReserve``.
    case diskReserveReached(DiskReserveShortfall)
    /// A setting (flag or environment variable) has a value that does not parse.
    case invalidSetting(name: String, value: String, expected: String)
    /// A content-store blob does not hash to its name (or is not as long as its descriptor
    /// says): it was read for `usedBy` (the image, layer or step that needs it), and moved to
    /// `quarantinedAs`, so the store no longer claims it and the next build fetches or rebuilds it.
    case corruptBlob(digest: Digest, actual: Digest, expectedSize: Int64?, actualSize: Int64, usedBy: String,
                     quarantinedAs: String?)

    public var description: String {
        switch self {
        case .system(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .notOwner(let path, let owner):
            return "\(path) belongs to uid \(owner), not to this user (uid \(geteuid())): a Kiln root must not be shared between users; set KILN_ROOT to a directory of your own"
        case .digestMismatch(let expected, let actual):
            return "content digest mismatch: expected \(expected), got \(actual)"
        case .sizeMismatch(let expected, let actual):
            return "content size mismatch: expected \(expected) bytes, got \(actual)"
        case .blobNotFound(let digest):
            return "blob \(digest) not found in the content store"
        case .unsupportedDigest(let digest):
            return "the content store keeps sha256 blobs only, not \(digest)"
        case .diffIDMismatch(let layer, let expected, let actual):
            return "layer \(layer): diffID mismatch: expected \(expected), got \(actual)"
        case .unsupportedOverlayEntry(let path, let reason):
            return "overlay upper entry \(path): \(reason)"
        case .overlayTooDeep(let lowers):
            return "an overlay of \(lowers) lower directories cannot be mounted here"
        case .diskReserveReached(let shortfall):
            return shortfall.description
        case .invalidSetting(let name, let value, let expected):
            return "\(name)=\(value): expected \(expected)"
        case .corruptBlob(let digest, let actual, let expectedSize, let actualSize, let usedBy, let quarantinedAs):
            let sizes = expectedSize.map { $0 == actualSize ? "its \(actualSize) bytes" : "its \(actualSize) bytes (not \($0))" }
                ?? "its \(actualSize) bytes"
            let moved = quarantinedAs.map { "; moved it to \($0), so the next build fetches or rebuilds it" }
                ?? "; it is no longer in the store, so the next build fetches or rebuilds it"
            return "content store blob \(digest) (\(usedBy)) is corrupt: \(sizes) hash to \(actual)\(moved)"
        }
    }
}

/// Runs a C call that reports failure as `-1` + `errno`, retrying on `EINTR`.
@discardableResult
func posix<Result: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> Result) throws(StorageError) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        if errno == EINTR { continue }
        throw StorageError.system(operation: operation, path: path, errno: errno)
    }
}
