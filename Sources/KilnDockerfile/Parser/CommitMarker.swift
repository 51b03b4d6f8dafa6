/// Makisu's explicit commit marker: `#!COMMIT` (any case, blanks allowed after `#!`) at the
/// very end of a `RUN`, `COPY` or `ADD` line says "make a layer here" (`kiln build
/// --commit=explicit`).
///
/// It is recognised only when a build asks for explicit commits, and then removed from the
/// instruction before anything reads it, so it reaches no argument, history entry or cache key.
/// Everywhere else the parser leaves it alone, as BuildKit does: for `RUN` it is a shell comment,
/// for `COPY`/`ADD` a word.
enum CommitMarker {
    /// The instructions that may carry the marker.
    static let keywords: Set<String> = ["run", "copy", "add"]

    /// Where the marker starts in `line` (a trimmed logical line), when the line ends with one:
    /// `#!`, optional blanks, `commit` in any case, after a blank (as a shell comment must be;
    /// `a#!COMMIT` is one word).
    static func start(in line: [UInt8]) -> Int? {
        let word = Array("commit".utf8)
        guard line.count > word.count + 3 else { return nil }
        var index = line.count - word.count
        for (offset, byte) in word.enumerated() where line[index + offset] | 0x20 != byte { return nil }
        while index > 0 && GoText.isBlank(line[index - 1]) { index -= 1 }
        guard index >= 3, line[index - 1] == UInt8(ascii: "!"), line[index - 2] == UInt8(ascii: "#"),
              GoText.isBlank(line[index - 3]) else { return nil }
        return index - 2
    }

    /// `node` with its trailing marker removed and ``Node/endsWithCommitMarker`` set; nil when it
    /// has none. The line without the marker is split again the way the parser splits it (so
    /// `RUN ["make"] #!COMMIT` is the exec form `["make"]`); positions stay those of the file.
    static func stripping(_ node: Node, escapeToken: Character) -> Node? {
        guard keywords.contains(node.keyword) else { return nil }
        let original = Array(node.original.utf8)
        guard let markerStart = start(in: original) else { return nil }
        let kept = Array(original[GoText.trimSpace(original, in: 0..<markerStart)])
        var line = LogicalLine()
        line.append(kept, 0..<kept.count, lineIndex: 0)
        var builder = NodeBuilder(escapeToken: escapeToken.asciiValue ?? UInt8(ascii: "\\"), lines: node.lines,
                                  mapper: LocationMapper(line: line, source: SourceText(kept)))
        guard var stripped = try? builder.node(kept, 0..<kept.count) else { return nil }
        // Locations come from the file, not from the line split again.
        stripped.location = node.location
        stripped.flagLocations = node.flagLocations
        stripped.argumentLocations = stripped.arguments.indices.map {
            node.argumentLocations.indices.contains($0) && stripped.isExecForm == node.isExecForm ? node.argumentLocations[$0] : node.location
        }
        stripped.heredocs = node.heredocs
        stripped.lines = node.lines
        stripped.endsWithCommitMarker = true
        return stripped
    }
}

extension ParsedDockerfile {
    /// This Dockerfile with Makisu's `#!COMMIT` markers recognised and removed (see
    /// ``CommitMarker``): the frontend view of `kiln build --commit=explicit`. Without it,
    /// a marker is what BuildKit makes of it.
    public func recognisingCommitMarkers() -> ParsedDockerfile {
        var result = self
        result.nodes = nodes.map { CommitMarker.stripping($0, escapeToken: directives.escapeToken) ?? $0 }
        return result
    }
}
