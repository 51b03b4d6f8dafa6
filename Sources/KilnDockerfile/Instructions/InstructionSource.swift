/// Where a typed instruction came from: its parser node.
///
/// Encodes as `{"keyword", "line", "column", "startLine", "endLine", "original"}`; the
/// node's raw arguments are deliberately left out of JSON (the typed fields say it better).
public struct InstructionSource: Sendable, Hashable, Encodable {
    /// The parser node the instruction was built from.
    public var node: Node

    /// Creates a source from a parser node.
    public init(node: Node) {
        self.node = node
    }

    /// Where the keyword starts.
    public var location: SourceLocation { node.location }

    /// The logical line, keyword included, after continuations are joined.
    public var original: String { node.original }

    /// Whether the line ended with Makisu's `#!COMMIT` (recognised and removed only for a build
    /// with explicit commits; see ``ParsedDockerfile/recognisingCommitMarkers()``).
    public var endsWithCommitMarker: Bool { node.endsWithCommitMarker }

    /// Where the flag named `name` (without dashes) is written, or the keyword when absent.
    public func location(ofFlag name: String) -> SourceLocation {
        location(ofFlag: name, occurrence: 0)
    }

    /// Where the `occurrence`-th (from 0) `--name` flag starts (`--mount` repeats), or the
    /// keyword when there are fewer.
    public func location(ofFlag name: String, occurrence: Int) -> SourceLocation {
        var seen = 0
        for (index, flag) in node.flags.enumerated() where FlagSpec.name(of: flag) == name {
            if seen == occurrence { return node.flagLocations[index] }
            seen += 1
        }
        return node.location
    }

    /// Where argument `index` starts, or the keyword when there is no such argument.
    public func location(ofArgument index: Int) -> SourceLocation {
        node.argumentLocations.indices.contains(index) ? node.argumentLocations[index] : node.location
    }

    private enum CodingKeys: String, CodingKey {
        case keyword, line, column, startLine, endLine, original
    }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node.keywordAsWritten, forKey: .keyword)
        try container.encode(node.location.line, forKey: .line)
        try container.encode(node.location.column, forKey: .column)
        try container.encode(node.lines.start, forKey: .startLine)
        try container.encode(node.lines.end, forKey: .endLine)
        try container.encode(node.original, forKey: .original)
    }
}

extension DockerfileError {
    /// Attaches the physical source line the error points at, when it is not set yet.
    func withSourceLine(from lines: [String]) -> DockerfileError {
        guard sourceLine == nil, let line = location?.line, line >= 1, line <= lines.count else { return self }
        var copy = self
        copy.sourceLine = lines[line - 1]
        return copy
    }
}
