/// A heredoc attached to a `RUN`, `COPY` or `ADD` instruction (`<<EOF` … `EOF`).
public struct Heredoc: Sendable, Hashable, Codable {
    /// The delimiter word with quotes removed (`EOF` for `<<'EOF'`).
    public var name: String
    /// The file descriptor before `<<` (`3<<EOF` → 3); 0 when absent.
    public var fileDescriptor: Int
    /// False when any part of the delimiter was quoted: the body is then not expanded.
    public var expand: Bool
    /// True for `<<-`: leading tabs are stripped from the body when it is used.
    public var chomp: Bool
    /// The body, verbatim, each line with its line ending; the terminator line excluded.
    public var content: String

    /// Creates a heredoc.
    public init(name: String, fileDescriptor: Int = 0, expand: Bool = true, chomp: Bool = false, content: String) {
        self.name = name
        self.fileDescriptor = fileDescriptor
        self.expand = expand
        self.chomp = chomp
        self.content = content
    }
}

/// One parsed instruction: the BuildKit-compatible AST node for a logical line.
///
/// This is the *parser* stage: no validation of what the instruction means happens here
/// (an unknown keyword is a node with one empty argument, exactly as BuildKit does).
/// Typed instructions are built from nodes by the instructions stage.
public struct Node: Sendable, Hashable {
    /// The keyword, ASCII-lowercased (`run`, `from`, `onbuild`, or an unknown word).
    public var keyword: String
    /// The keyword as written in the file (`FrOm`).
    public var keywordAsWritten: String
    /// Leading `--flag[=value]` words, quotes removed and escapes resolved, as written otherwise.
    public var flags: [String]
    /// Where each flag starts (same count as `flags`).
    public var flagLocations: [SourceLocation]
    /// The arguments in the shape BuildKit's parser gives them (see the conformance README §2).
    /// Empty for `ONBUILD`, whose instruction is in `nested`.
    public var arguments: [String]
    /// Where each argument starts, best effort (same count as `arguments`; the
    /// instruction's own location for arguments with no single start, such as JSON elements).
    public var argumentLocations: [SourceLocation]
    /// True when the arguments came from a JSON array (exec form).
    public var isExecForm: Bool
    /// Heredocs opened on this line, in the order their openers appear.
    public var heredocs: [Heredoc]
    /// Physical lines the instruction spans, from its first line to the last consumed one.
    public var lines: LineRange
    /// Where the keyword starts.
    public var location: SourceLocation
    /// The logical line after continuations are joined and trimmed, keyword included
    /// (BuildKit's `Node.Original`); used by history entries and error messages.
    public var original: String
    private var nestedStorage: [Node]
    /// Kiln's extension, not BuildKit's: the line ended with Makisu's explicit commit marker
    /// (`#!COMMIT`), which was stripped from it. Set only by
    /// ``ParsedDockerfile/recognisingCommitMarkers()``: a build asked for explicit commits.
    public var endsWithCommitMarker = false
    /// The exact bytes of ``arguments`` when one of them is not valid UTF-8 (a `String` cannot
    /// hold such bytes); the dump quotes these so that it matches the reference byte for byte.
    /// Ignored once `arguments` no longer matches them.
    package var exactArguments: [[UInt8]]? = nil

    /// The instruction wrapped by `ONBUILD`, if this node is one.
    public var nested: Node? {
        get { nestedStorage.first }
        set { nestedStorage = newValue.map { [$0] } ?? [] }
    }

    /// Creates a node.
    public init(
        keyword: String,
        keywordAsWritten: String? = nil,
        flags: [String] = [],
        flagLocations: [SourceLocation]? = nil,
        arguments: [String] = [],
        argumentLocations: [SourceLocation]? = nil,
        isExecForm: Bool = false,
        heredocs: [Heredoc] = [],
        lines: LineRange,
        location: SourceLocation,
        original: String = "",
        nested: Node? = nil
    ) {
        self.keyword = keyword
        self.keywordAsWritten = keywordAsWritten ?? keyword
        self.flags = flags
        self.flagLocations = flagLocations ?? Array(repeating: location, count: flags.count)
        self.arguments = arguments
        self.argumentLocations = argumentLocations ?? Array(repeating: location, count: arguments.count)
        self.isExecForm = isExecForm
        self.heredocs = heredocs
        self.lines = lines
        self.location = location
        self.original = original
        self.nestedStorage = nested.map { [$0] } ?? []
    }
}

/// The parser directives found at the top of a Dockerfile.
public struct ParserDirectives: Sendable, Hashable {
    /// The escape token: `\` (default) or `` ` ``.
    public var escapeToken: Character = "\\"
    /// `# syntax=` value, if present.
    public var syntax: String?
    /// `# check=` value, if present.
    public var check: String?

    /// Creates directives with the defaults.
    public init(escapeToken: Character = "\\", syntax: String? = nil, check: String? = nil) {
        self.escapeToken = escapeToken
        self.syntax = syntax
        self.check = check
    }
}

/// The result of parsing a whole Dockerfile.
public struct ParsedDockerfile: Sendable, Hashable {
    /// Top-level instructions in file order.
    public var nodes: [Node]
    /// Directives from the top of the file.
    public var directives: ParserDirectives
    /// Non-fatal findings (empty continuation lines, …).
    public var warnings: [DockerfileWarning]
    /// The physical lines of the file (line endings and BOM removed), for rendering diagnostics.
    public var sourceLines: [String]

    /// Creates a parse result.
    public init(nodes: [Node], directives: ParserDirectives, warnings: [DockerfileWarning], sourceLines: [String]) {
        self.nodes = nodes
        self.directives = directives
        self.warnings = warnings
        self.sourceLines = sourceLines
    }

    /// The physical line `n` (1-based), if it exists.
    public func sourceLine(_ n: Int) -> String? {
        n >= 1 && n <= sourceLines.count ? sourceLines[n - 1] : nil
    }
}
