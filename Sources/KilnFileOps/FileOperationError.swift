#if canImport(Glibc)
import Glibc
#endif

/// Why a `COPY` or `ADD` cannot be planned or applied. Messages read like Docker's; the
/// caller prefixes the Dockerfile location.
public struct FileOperationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message, without a Dockerfile location.
    public var message: String

    /// An error with the given message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension FileOperationError {
    /// A named source that is missing from the context, or hidden by the ignore file.
    static func notFound(_ source: String) -> FileOperationError {
        FileOperationError("file not found in build context or excluded by .dockerignore: stat \(source): file does not exist")
    }

    /// A named source that is missing from the stage or image a `--from` reads.
    static func notFoundInSource(_ source: String) -> FileOperationError {
        FileOperationError("file not found in the --from stage or image: stat \(source): file does not exist")
    }

    /// A wildcard source that matched nothing.
    static func noMatch(_ pattern: String) -> FileOperationError {
        FileOperationError("no source files were specified: \"\(pattern)\" matched no files in the build context")
    }

    /// A failed system call on `path`.
    static func system(_ call: String, _ path: String, _ code: Int32) -> FileOperationError {
        FileOperationError("\(call) \(path): \(String(cString: strerror(code)))")
    }
}
