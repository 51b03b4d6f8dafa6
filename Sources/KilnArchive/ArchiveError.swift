#if canImport(Glibc)
import Glibc
#endif

/// Why writing, compressing, decompressing or applying a layer failed.
public enum ArchiveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A layer entry was refused because applying it would be unsafe or is not allowed here.
    case refused(entry: String, reason: String)
    /// A system call failed on a path (`errno` kept so callers can tell ENOSPC from EACCES).
    case system(operation: String, path: String, errno: Int32)
    /// libarchive reported an error.
    case libarchive(String)
    /// A compression or decompression library reported an error, or a stream is corrupt.
    case codec(String)
    /// The list of changes or a source entry cannot be written as a layer.
    case invalidSource(path: String, reason: String)

    /// A one-line message naming the entry or path and the reason.
    public var description: String {
        switch self {
        case .refused(let entry, let reason):
            return "layer entry \"\(entry)\" refused: \(reason)"
        case .system(let operation, let path, let code):
            return "\(operation) \"\(path)\": \(String(cString: strerror(code)))"
        case .libarchive(let message):
            return "tar: \(message)"
        case .codec(let message):
            return "compression: \(message)"
        case .invalidSource(let path, let reason):
            return "cannot write \"\(path)\" to a layer: \(reason)"
        }
    }

    /// A `.system` error carrying the current `errno`.
    static func lastSystemError(_ operation: String, _ path: String) -> ArchiveError {
        .system(operation: operation, path: path, errno: errno)
    }
}
