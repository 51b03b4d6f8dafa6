/// `COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]… <src>… <dest>`.
public struct CopyInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// Sources and destination.
    public var files: FileSources
    /// `--from`: a stage name, stage index or image reference.
    public var from: String?
    /// `--chown=user[:group]`.
    public var chown: String?
    /// `--chmod=mode`.
    public var chmod: String?
    /// `--link`: copy into an independent layer.
    public var link: Bool
    /// `--parents`: keep the source's parent directories.
    public var parents: Bool
    /// `--exclude` patterns.
    public var excludes: [String]

    /// Parses a `COPY` node.
    public init(node: Node) throws(DockerfileError) {
        let flags = try ParsedFlags(node: node, accepting: FlagSpec.byInstruction["copy"]!)
        source = InstructionSource(node: node)
        files = try FileSources(node: node, instruction: "COPY")
        from = flags.string("from")
        chown = flags.string("chown")
        chmod = flags.string("chmod")
        link = flags.bool("link") ?? false
        parents = flags.bool("parents") ?? false
        excludes = flags.list("exclude")
    }
}
