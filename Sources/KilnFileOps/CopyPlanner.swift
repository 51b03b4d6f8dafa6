import Foundation
import KilnDockerfile
import KilnOCI
import KilnConcurrency

/// Turns a ``CopyRequest`` into a ``CopyPlan``: finds the files (context after its ignore
/// file, or another stage's rootfs), expands wildcards, downloads `ADD` URLs, and hashes
/// exactly what will be written, so the step's cache key is known before anything is copied.
public struct CopyPlanner: Sendable {
    /// Per-build scratch space (downloads, decompressed archives); the caller removes it.
    public let scratch: URL
    /// Remembers context file digests across builds; `nil` hashes every file every time.
    public let memo: FileDigestMemo?

    /// A planner writing temporary files under `scratch`.
    public init(scratch: URL, memo: FileDigestMemo? = nil) {
        self.scratch = scratch
        self.memo = memo
    }

    /// Plans `request` with its sources read from `root`.
    ///
    /// - Throws: ``FileOperationError`` for a missing or ignored source, a wildcard with no
    ///   match, several sources into a destination without a trailing `/`, a URL in `COPY`,
    ///   a git source, a failed download or checksum, a bad `--chmod` or `--exclude`.
    public func plan(_ request: CopyRequest, from root: CopySourceRoot) async throws -> CopyPlan {
        let destination = Self.absoluteDestination(request)
        let intoDirectory = Self.namesDirectory(request.destination)
        if request.sources.count + request.inlineFiles.count > 1 && !intoDirectory {
            throw Self.multipleSourcesError(request)
        }
        let excludes: BuildContextFilter
        do {
            excludes = BuildContextFilter(matcher: try PatternMatcher(request.excludes))
        } catch {
            throw FileOperationError("invalid --exclude pattern: \(error)")
        }
        var collector = CopyEntryCollector(
            root: root, intoDirectory: intoDirectory, excludes: excludes,
            modeSpec: try request.chmod.map { spec throws(FileOperationError) in try ModeSpec(spec) },
            request: request)
        var kinds: [String] = []
        for source in request.sources {
            if URLDownload.isGitRepository(source) {
                throw FileOperationError(request.isAdd
                    ? "ADD of git repositories is not supported yet: \(source)"
                    : "source can't be a URL for COPY: \(source)")
            }
            if URLDownload.isURL(source) {
                guard request.isAdd else { throw FileOperationError("source can't be a URL for COPY: \(source)") }
                let download = try await URLDownload.fetch(source, into: scratch, checksum: request.checksum)
                try collector.addDownload(download, from: source)
                kinds.append("file")
            } else {
                if request.checksum != nil && !request.isAdd {
                    throw FileOperationError("--checksum can only be used with ADD")
                }
                kinds.append(try collector.addLocal(source))
            }
        }
        for inline in request.inlineFiles {
            collector.addInline(inline)
            kinds.append("file")
        }
        try await hash(&collector)
        return CopyPlan(
            destination: destination, intoDirectory: intoDirectory, fileName: collector.fileName,
            entries: collector.entries, chown: request.chown, chmod: request.chmod,
            description: "", scratch: scratch
        ).described(kind: kinds.count == 1 ? kinds[0] : "multi", destination: request.destination)
    }

    /// `request.destination` made absolute against the working directory and cleaned.
    static func absoluteDestination(_ request: CopyRequest) -> String {
        let destination = request.destination
        return ContainedPath.absolute(destination.hasPrefix("/") ? destination : request.workingDirectory + "/" + destination)
    }

    /// Whether Docker reads `destination` as a directory whatever exists there: it ends in
    /// `/` (or `/.`), or is `.`.
    static func namesDirectory(_ destination: String) -> Bool {
        destination.hasSuffix("/") || destination.hasSuffix("/.") || destination == "."
    }

    static func multipleSourcesError(_ request: CopyRequest) -> FileOperationError {
        FileOperationError("When using \(request.instructionName) with more than one source file, the destination must be a directory and end with a /")
    }

    /// Hashes every planned file and archive: two at a time (the machine's cores), each
    /// through the memo when the source is the context.
    private func hash(_ collector: inout CopyEntryCollector) async throws {
        let memo: FileDigestMemo? = if case .context = collector.root { memo } else { nil }
        let pending = collector.unhashed
        let digests = try await mapConcurrently(pending, limit: 4) { item in
            try await Self.digest(of: item.path, stamp: item.stamp, memo: memo)
        }
        for (item, digest) in zip(pending, digests) { collector.setDigest(digest, at: item.index) }
        try await memo?.save()
    }

    private static func digest(of path: String, stamp: FileDigestMemo.Stamp, memo: FileDigestMemo?) async throws -> Digest {
        if let memo, let known = await memo.digest(of: path, stamp: stamp) { return known }
        var hasher = DigestHasher()
        try FileWriting.forEachChunk(of: path) { hasher.update($0) }
        let digest = hasher.finalize()
        await memo?.remember(digest, of: path, stamp: stamp)
        return digest
    }
}
