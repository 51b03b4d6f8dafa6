/// `ADD [--chown] [--chmod] [--link] [--checksum] [--keep-git-dir] [--exclude]… [--unpack] <src>… <dest>`.
public struct AddInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// Sources (paths, URLs, git repositories) and destination.
    public var files: FileSources
    /// `--chown=user[:group]`.
    public var chown: String?
    /// `--chmod=mode`.
    public var chmod: String?
    /// `--link`: add into an independent layer.
    public var link: Bool
    /// `--checksum=<algorithm>:<hex>` for a URL source.
    public var checksum: String?
    /// `--keep-git-dir`: keep `.git` of a git source.
    public var keepGitDir: Bool
    /// `--exclude` patterns.
    public var excludes: [String]
    /// `--unpack`: force (true) or prevent (false) archive extraction; `nil` = automatic.
    public var unpack: Bool?

    /// Parses an `ADD` node.
    public init(node: Node) throws(DockerfileError) {
        let flags = try ParsedFlags(node: node, accepting: FlagSpec.byInstruction["add"]!)
        source = InstructionSource(node: node)
        files = try FileSources(node: node, instruction: "ADD")
        chown = flags.string("chown")
        chmod = flags.string("chmod")
        link = flags.bool("link") ?? false
        checksum = flags.string("checksum")
        keepGitDir = flags.bool("keep-git-dir") ?? false
        excludes = flags.list("exclude")
        unpack = flags.bool("unpack")
    }
}
