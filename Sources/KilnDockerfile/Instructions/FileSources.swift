/// A file whose content is written in the Dockerfile: a heredoc used as a `COPY`/`ADD` source.
public struct InlineFile: Sendable, Hashable, Encodable {
    /// The file name (the heredoc's name), created inside the destination.
    public var path: String
    /// The content; leading tabs already removed for `<<-`.
    public var content: String
    /// Whether the builder expands variables in the content (unquoted delimiter).
    public var expand: Bool

    /// Creates an inline file.
    public init(path: String, content: String, expand: Bool) {
        self.path = path
        self.content = content
        self.expand = expand
    }
}

/// The sources and destination of `COPY`/`ADD`.
public struct FileSources: Sendable, Hashable, Encodable {
    /// Source paths or URLs, in order (expanded when evaluated).
    public var paths: [String]
    /// Heredoc sources, in order.
    public var inlineFiles: [InlineFile]
    /// The destination (expanded when evaluated).
    public var destination: String

    /// Creates sources.
    public init(paths: [String], inlineFiles: [InlineFile] = [], destination: String) {
        self.paths = paths
        self.inlineFiles = inlineFiles
        self.destination = destination
    }

    /// Splits a `COPY`/`ADD` node's arguments into sources and destination.
    init(node: Node, instruction: String) throws(DockerfileError) {
        let args = node.arguments
        guard args.count >= 2 else {
            throw DockerfileError(
                "\(instruction) requires at least two arguments, but only one was provided. Destination could not be determined",
                at: node.location)
        }
        if !node.isExecForm, HeredocWord(args[args.count - 1]) != nil, !node.heredocs.isEmpty {
            throw DockerfileError("\(instruction) cannot accept a heredoc as a destination",
                                  at: node.argumentLocations.indices.contains(args.count - 1) ? node.argumentLocations[args.count - 1] : node.location)
        }
        var paths: [String] = []
        var files: [InlineFile] = []
        for word in args.dropLast() {
            if !node.isExecForm, let opener = HeredocWord(word), let heredoc = node.heredocs.first(where: { $0.name == opener.name }) {
                files.append(InlineFile(path: heredoc.name, content: heredoc.chomp ? Self.chomp(heredoc.content) : heredoc.content,
                                        expand: heredoc.expand))
            } else {
                paths.append(word)
            }
        }
        self.paths = paths
        self.inlineFiles = files
        self.destination = args[args.count - 1]
    }

    /// Removes leading tabs from every line (`<<-`).
    static func chomp(_ content: String) -> String {
        var out = ""
        var atLineStart = true
        for c in content {
            if atLineStart && c == "\t" { continue }
            atLineStart = c == "\n" || c == "\r\n"
            out.append(c)
        }
        return out
    }
}
