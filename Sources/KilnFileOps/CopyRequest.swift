import Foundation
import KilnDockerfile

/// Where the sources of a `COPY`/`ADD` are read from.
public enum CopySourceRoot: Sendable {
    /// The build context (after its ignore file).
    case context(BuildContext)
    /// A stage's or image's rootfs (`COPY --from`); read, never written.
    case directory(URL)
}

/// One `COPY` or `ADD` step, already expanded: what the planner needs and nothing about the
/// Dockerfile's text.
public struct CopyRequest: Sendable, Hashable, Encodable {
    /// Source paths, globs or (for `ADD`) URLs, relative to the source root.
    public var sources: [String]
    /// Heredoc sources; their content is already expanded.
    public var inlineFiles: [InlineFile]
    /// The destination, absolute or relative to ``workingDirectory``.
    public var destination: String
    /// The stage's `WORKDIR` when the step runs.
    public var workingDirectory: String
    /// `--chown=user[:group]` (names or ids, resolved in the destination rootfs).
    public var chown: String?
    /// `--chmod=mode` (octal, or symbolic such as `u+x,go-w`).
    public var chmod: String?
    /// `--exclude` patterns, matched like `.dockerignore` lines below each source.
    public var excludes: [String]
    /// `--parents`: keep each source's path below the root (or below a `/./` pivot).
    public var parents: Bool
    /// `--link`: the caller writes the result as an independent layer; planning is the same.
    public var link: Bool
    /// Whether the step is `ADD` (URLs and archive extraction).
    public var isAdd: Bool
    /// `ADD --unpack`: force (`true`) or prevent (`false`) extraction; `nil` = Docker's default
    /// (local archives extracted, downloads not).
    public var unpack: Bool?
    /// `ADD --checksum=sha256:<hex>` for a URL source.
    public var checksum: String?

    /// A request; everything but the sources and destination has Docker's default.
    public init(sources: [String], inlineFiles: [InlineFile] = [], destination: String,
                workingDirectory: String = "/", chown: String? = nil, chmod: String? = nil,
                excludes: [String] = [], parents: Bool = false, link: Bool = false,
                isAdd: Bool = false, unpack: Bool? = nil, checksum: String? = nil) {
        self.sources = sources
        self.inlineFiles = inlineFiles
        self.destination = destination
        self.workingDirectory = workingDirectory
        self.chown = chown
        self.chmod = chmod
        self.excludes = excludes
        self.parents = parents
        self.link = link
        self.isAdd = isAdd
        self.unpack = unpack
        self.checksum = checksum
    }

    /// The instruction's name, for messages.
    var instructionName: String { isAdd ? "ADD" : "COPY" }
}
