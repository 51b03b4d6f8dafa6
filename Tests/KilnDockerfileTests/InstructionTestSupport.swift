import Foundation
@testable import KilnDockerfile

/// Builds parser nodes for instruction tests without depending on the parser: one
/// instruction per line, arguments shaped as the parser README §2 documents.
enum InstructionTestSupport {
    /// A node for `line` (an instruction on one physical line) at physical line `lineNumber`.
    static func node(_ line: String, line lineNumber: Int = 1) -> Node {
        var rest = Substring(line)
        let keyword = String(rest.prefix { $0 != " " && $0 != "\t" })
        rest = rest.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }
        let lower = keyword.lowercased()
        var flags: [String] = []
        var flagLocations: [SourceLocation] = []
        if lower != "onbuild" {
            while rest.hasPrefix("--") {
                let column = line.distance(from: line.startIndex, to: rest.startIndex) + 1
                let word = String(rest.prefix { $0 != " " && $0 != "\t" })
                rest = rest.dropFirst(word.count).drop { $0 == " " || $0 == "\t" }
                if word == "--" { break }
                flags.append(word)
                flagLocations.append(SourceLocation(line: lineNumber, column: column))
            }
        }
        let text = String(rest)
        var exec = false
        var args: [String]
        var nested: Node?
        var heredocs: [Heredoc] = []
        func json(_ t: String) -> [String]? {
            guard t.hasPrefix("["), let data = t.data(using: .utf8),
                  let array = try? JSONSerialization.jsonObject(with: data) as? [String] else { return nil }
            return array
        }
        switch lower {
        case "from", "expose":
            args = words(text)
        case "add", "copy", "volume":
            if let a = json(text) { args = a; exec = true } else { args = words(text) }
        case "run", "cmd", "entrypoint", "shell":
            if let a = json(text) { args = a; exec = true } else { args = text.isEmpty ? [] : [text] }
        case "healthcheck":
            let first = String(text.prefix { $0 != " " })
            let remainder = text.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
            if let a = json(remainder) { args = [first] + a; exec = true } else { args = first.isEmpty ? [] : (remainder.isEmpty ? [first] : [first, remainder]) }
        case "env", "label":
            let ws = words(text)
            if let first = ws.first, !first.contains("=") {
                let value = text.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
                args = [first, value, ""]
            } else {
                args = ws.flatMap { w -> [String] in
                    let parts = w.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    return [parts[0], parts.count > 1 ? parts[1] : "", "="]
                }
            }
        case "arg":
            args = words(text)
        case "onbuild":
            args = []
            nested = text.isEmpty ? nil : node(text, line: lineNumber)
        case "maintainer", "user", "workdir", "stopsignal":
            args = text.isEmpty ? [] : [text]
        default:
            args = [""]
        }
        // Heredoc bodies are not on the line; tests attach them explicitly.
        _ = heredocs
        heredocs = []
        let argColumn = line.distance(from: line.startIndex, to: rest.startIndex) + 1
        return Node(
            keyword: lower, keywordAsWritten: keyword, flags: flags, flagLocations: flagLocations,
            arguments: args, argumentLocations: args.map { _ in SourceLocation(line: lineNumber, column: argColumn) },
            isExecForm: exec, heredocs: heredocs, lines: LineRange(start: lineNumber, end: lineNumber),
            location: SourceLocation(line: lineNumber, column: 1), original: line, nested: nested)
    }

    /// Whitespace-split words; quotes group (and are kept, as the parser keeps them for ARG/ENV).
    static func words(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var quote: Character?
        for c in text {
            if let q = quote {
                current.append(c)
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
                current.append(c)
            } else if c == " " || c == "\t" {
                if !current.isEmpty { result.append(current); current = "" }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// A parsed file from lines (one instruction per line, blank lines skipped).
    static func parsed(_ text: String) -> ParsedDockerfile {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var nodes: [Node] = []
        for (index, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            nodes.append(node(line, line: index + 1))
        }
        return ParsedDockerfile(nodes: nodes, directives: ParserDirectives(), warnings: [], sourceLines: lines)
    }

    /// Types one line; the error is rendered with its source line.
    static func instruction(_ line: String) throws(DockerfileError) -> Instruction {
        do throws(DockerfileError) {
            return try Instruction(node: node(line))
        } catch {
            throw error.withSourceLine(from: [line])
        }
    }

    /// The rendered error of typing `line`, or nil when it types.
    static func renderedError(_ line: String) -> String? {
        do {
            _ = try instruction(line)
            return nil
        } catch {
            return error.rendered(fileName: "Dockerfile")
        }
    }
}
