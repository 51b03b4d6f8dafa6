/// Turns Dockerfile text into BuildKit's AST: one ``Node`` per instruction, with directives,
/// warnings and positions.
///
/// This follows BuildKit's `frontend/dockerfile/parser` exactly (the conformance data checks the
/// dump byte for byte). It works on bytes, runs in time linear in the input, and never traps on
/// malformed input; every failure is a ``DockerfileError`` with a location when the file has one.
public enum DockerfileParser {
    /// Parses a Dockerfile given as raw bytes.
    public static func parse(_ source: some Collection<UInt8>) throws(DockerfileError) -> ParsedDockerfile {
        var run = ParseRun(source: SourceText(Array(source)))
        return try run.parse()
    }

    /// Parses a Dockerfile given as text.
    public static func parse(_ text: String) throws(DockerfileError) -> ParsedDockerfile {
        try parse(Array(text.utf8))
    }
}

/// The state of one parse: BuildKit's scanner loop over physical lines.
private struct ParseRun {
    let source: SourceText
    var directiveScanner = DirectiveScanner()
    var directives = ParserDirectives()
    var escapeToken = UInt8(ascii: "\\")
    var nodes: [Node] = []
    var warnings: [DockerfileWarning] = []
    /// The next physical line to read (0-based); also the number of lines read so far.
    var next = 0

    init(source: SourceText) {
        self.source = source
    }

    mutating func parse() throws(DockerfileError) -> ParsedDockerfile {
        let lineCount = source.lines.count
        while next < lineCount {
            let first = try readLine(stripLeadingSpace: true)
            let startLine = next
            let continuation = LineContinuation(escapeToken: escapeToken)
            let (firstEnd, firstContinues) = continuation.trim(source.bytes, first.range)
            if !firstContinues && first.range.isEmpty { continue }

            var logical = LogicalLine()
            logical.append(source.bytes, first.range.lowerBound..<firstEnd, lineIndex: startLine - 1)
            var continues = firstContinues
            var hasEmptyContinuationLine = false
            while continues && next < lineCount {
                let line = try readLine(stripLeadingSpace: false)
                if line.isComment { continue }
                if LineContinuation.isBlank(source.bytes, line.range) {
                    hasEmptyContinuationLine = true
                    continue
                }
                let (end, more) = continuation.trim(source.bytes, line.range)
                logical.append(source.bytes, line.range.lowerBound..<end, lineIndex: next - 1)
                continues = more
            }

            var builder = NodeBuilder(escapeToken: escapeToken, lines: LineRange(start: startLine, end: next),
                                      mapper: LocationMapper(line: logical, source: source))
            var node: Node
            do {
                node = try builder.node(logical.bytes, 0..<logical.bytes.count)
            } catch {
                let location = builder.mapper.location(of: error.offset)
                throw DockerfileError(error.message, at: location, sourceLine: source.text(ofLine: location.line - 1))
            }
            if hasEmptyContinuationLine {
                let text = String(decoding: logical.bytes, as: UTF8.self)
                warnings.append(DockerfileWarning("Empty continuation line found in: \(text)", at: node.location))
            }
            if HeredocDetection.canContainHeredoc(node), Self.containsHeredocMarker(logical.bytes) {
                try readHeredocs(into: &node, line: logical)
            }
            node.lines.end = next
            if var nested = node.nested {
                nested.lines = node.lines
                node.nested = nested
            }
            nodes.append(node)
        }

        guard !nodes.isEmpty else {
            if lineCount == 0 && source.overlongLine == nil { throw DockerfileError("file with no instructions") }
            let line = max(1, next)
            throw DockerfileError("file with no instructions", at: SourceLocation(line: line, column: 1),
                                  sourceLine: Self.excerpt(source.allLineTexts(), line: line))
        }
        if let overlong = source.overlongLine {
            throw DockerfileError("dockerfile line greater than max allowed size of \(SourceText.maximumLineLength)",
                                  at: SourceLocation(line: overlong, column: 1),
                                  sourceLine: Self.excerpt(source.allLineTexts(), line: overlong))
        }
        return ParsedDockerfile(nodes: nodes, directives: directives, warnings: warnings,
                                sourceLines: source.allLineTexts())
    }

    /// Reads the next physical line like BuildKit's `processLine`: line ending removed, leading
    /// blanks too for an instruction's first line, directives applied, comments emptied.
    private mutating func readLine(stripLeadingSpace: Bool) throws(DockerfileError) -> (range: Range<Int>, isComment: Bool) {
        let index = next
        next += 1
        let bytes = source.bytes
        var start = source.lines[index].start
        let end = source.trimmedEnd(index)
        if stripLeadingSpace { start = GoText.skipSpace(bytes, from: start, to: end) }
        try applyDirective(bytes[start..<end], lineIndex: index, column: source.column(ofLine: index, offset: start))
        if LineContinuation.isComment(bytes, start..<end) { return (start..<start, true) }
        return (start..<end, false)
    }

    private mutating func applyDirective(_ line: ArraySlice<UInt8>, lineIndex: Int, column: Int) throws(DockerfileError) {
        let location = SourceLocation(line: lineIndex + 1, column: column)
        switch directiveScanner.scan(line) {
        case .none:
            return
        case .duplicate(let message):
            throw DockerfileError(message, at: location, sourceLine: source.text(ofLine: lineIndex))
        case .directive(let directive):
            switch directive.name {
            case "escape":
                guard directive.value == "`" || directive.value == "\\" else {
                    throw DockerfileError("invalid escape token '\(directive.value)' does not match ` or \\",
                                          at: location, sourceLine: source.text(ofLine: lineIndex))
                }
                escapeToken = directive.value.utf8.first ?? UInt8(ascii: "\\")
                directives.escapeToken = Character(directive.value)
            case "syntax":
                directives.syntax = directive.value
            default:
                directives.check = directive.value
            }
        }
    }

    /// Line `line` (1-based) for a diagnostic, cut short when it is very long.
    private static func excerpt(_ lines: [String], line: Int) -> String? {
        guard line >= 1 && line <= lines.count else { return nil }
        let text = lines[line - 1]
        let limit = 200
        return text.unicodeScalars.count > limit ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit))) + "…" : text
    }

    private static func containsHeredocMarker(_ bytes: [UInt8]) -> Bool {
        var index = 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "<") && bytes[index - 1] == UInt8(ascii: "<") { return true }
            index += 1
        }
        return false
    }

    /// Finds the heredocs opened on `line` and reads their bodies from the following lines.
    private mutating func readHeredocs(into node: inout Node, line: LogicalLine) throws(DockerfileError) {
        let startLine = node.lines.start
        let found: [Heredoc]
        do {
            found = try HeredocDetection.heredocs(inLine: String(decoding: line.bytes, as: UTF8.self))
        } catch {
            throw DockerfileError(error.message, at: node.location, sourceLine: source.text(ofLine: startLine - 1))
        }
        let bytes = source.bytes
        for var heredoc in found {
            let terminator = Array(heredoc.name.utf8)
            var content: [UInt8] = []
            var terminated = false
            while next < source.lines.count {
                let index = next
                next += 1
                let physical = source.lines[index]
                var start = physical.start
                let end = source.trimmedEnd(index)
                if heredoc.chomp {
                    while start < end && bytes[start] == UInt8(ascii: "\t") { start += 1 }
                }
                if bytes[start..<end].elementsEqual(terminator) {
                    terminated = true
                    break
                }
                content.append(contentsOf: bytes[physical.start..<physical.end])
            }
            guard terminated else {
                throw DockerfileError("unterminated heredoc", at: node.location, sourceLine: source.text(ofLine: startLine - 1))
            }
            heredoc.content = String(decoding: content, as: UTF8.self)
            node.heredocs.append(heredoc)
        }
        if var nested = node.nested, HeredocDetection.keywords.contains(nested.keyword) {
            nested.heredocs = node.heredocs
            node.nested = nested
        }
    }
}
