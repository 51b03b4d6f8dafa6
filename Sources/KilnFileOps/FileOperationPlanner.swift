import Foundation
import KilnDockerfile
import KilnOCI
import KilnStorage

/// Where a COPY/ADD reads its sources.
public enum FileOperationSource: Sendable {
    /// The build context directory, and the Dockerfile whose `.dockerignore` applies.
    case context(directory: URL, dockerfile: URL?)
    /// A stage's or an image's root filesystem (`--from`), read-only.
    case directory(URL)
}

/// One COPY/ADD as the step loop hands it to the file operations: the request its cache key
/// was derived from, and where it reads.
public struct FileOperationStep: Sendable {
    /// The expanded `COPY` or `ADD` (or a bind mount's copy of the context).
    public var request: CopyRequest
    /// Where sources come from.
    public var source: FileOperationSource
    /// A build-owned scratch directory the operation may use.
    public var scratch: URL
    /// What the write leaves free on the rootfs's filesystem (the root's reserve).
    public var reserve: DiskReserve

    /// Creates a step.
    public init(request: CopyRequest, source: FileOperationSource, scratch: URL, reserve: DiskReserve = .none) {
        self.request = request
        self.source = source
        self.scratch = scratch
        self.reserve = reserve
    }
}

/// A COPY/ADD whose sources have been read: the digest of exactly what it will write
/// (the cache key's `sources`), and the write itself.
public struct PlannedFileOperation: Sendable {
    /// Paths, types, contents, link targets and the mode/owner that will be written.
    public var contentDigest: Digest
    /// How the history entry describes the sources (`file:… in /dst`); nil keeps the default.
    public var description: String?
    /// Writes the files into a rootfs (names in `--chown` resolve there).
    public var apply: @Sendable (URL) async throws -> Void
    /// Each written path and a digest of what is written there, for `--explain-cache` to name
    /// the file that changed; nil when not recorded (very large copies).
    public var sourceFiles: [String: String]?
    /// The rootfs paths (relative, no leading `/`) whose state decides what ``apply`` does
    /// there, as far as the plan knows them: where it writes and the files `--chown` names
    /// resolve in. nil when not known.
    public var consultedPaths: Set<String>?

    /// Creates a planned operation.
    public init(contentDigest: Digest, description: String?, sourceFiles: [String: String]? = nil,
                consultedPaths: Set<String>? = nil, apply: @escaping @Sendable (URL) async throws -> Void) {
        self.contentDigest = contentDigest
        self.description = description
        self.sourceFiles = sourceFiles
        self.consultedPaths = consultedPaths
        self.apply = apply
    }
}

/// COPY and ADD: KilnFileOps' `CopyPlanner` behind the one call the step
/// loop needs. A builder made without one reports COPY/ADD as unavailable.
public protocol FileOperationPlanner: Sendable {
    /// Reads the sources of `step` and returns what it will write, without writing.
    func plan(_ step: FileOperationStep) async throws -> PlannedFileOperation
}
