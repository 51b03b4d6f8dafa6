#if canImport(Glibc)
import Glibc
#endif
import KilnOCI

/// What can go wrong reading or writing an image in one of its on-disk forms.
public enum ImageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call failed on `path`.
    case system(operation: String, path: String, errno: Int32)
    /// The layout, archive or document at `path` is not what its format requires.
    case malformed(path: String, reason: String)
    /// No image in `path` answers to `reference`.
    case notFound(path: String, reference: String)
    /// Several images in `path` could be meant; a reference must pick one.
    case ambiguous(path: String, candidates: [String])
    /// An index in `path` has no image for `platform`; `available` lists the platforms it has.
    case noMatchingPlatform(path: String, platform: String, available: String)
    /// A blob's bytes do not hash to the digest that named them.
    case digestMismatch(expected: Digest, actual: Digest)
    /// A layer could not be decompressed.
    case codec(String)

    /// A message for the user.
    public var description: String {
        switch self {
        case .system(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .malformed(let path, let reason):
            return "\(path): \(reason)"
        case .notFound(let path, let reference):
            return "\(path): no image named \"\(reference)\""
        case .ambiguous(let path, let candidates):
            return "\(path) holds \(candidates.count) images; name one of: \(candidates.joined(separator: ", "))"
        case .noMatchingPlatform(let path, let platform, let available):
            return "\(path): no image for platform \(platform) (the index has: \(available.isEmpty ? "none" : available))"
        case .digestMismatch(let expected, let actual):
            return "content digest mismatch: expected \(expected), got \(actual)"
        case .codec(let message):
            return "decompression failed: \(message)"
        }
    }

    /// The error for the failed system call whose `errno` is current.
    static func lastSystemError(_ operation: String, _ path: String) -> ImageError {
        .system(operation: operation, path: path, errno: errno)
    }
}
