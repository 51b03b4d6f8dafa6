import Foundation
import KilnTestSupport
@testable import KilnDockerfile

/// One conformance input, named after its file so each runs as its own test case.
struct ParserCase: Sendable, CustomStringConvertible {
    /// Path of the Dockerfile relative to the conformance folder.
    var path: String
    /// Path of the expected dump, if the reference accepted the file.
    var resultPath: String?
    /// Whether the reference rejected the file.
    var expectError: Bool = false
    /// Instruction names as written with start and end lines, when given.
    var instructions: [ExpectedInstruction] = []
    /// Heredocs by instruction index, when given.
    var heredocs: [Int: [Heredoc]] = [:]
    /// Whether the file must parse (false for templates the reference rejects).
    var mustParse: Bool = true

    var description: String { path }
}

/// An instruction's name as written and its physical line range.
struct ExpectedInstruction: Sendable, Hashable {
    var name: String
    var startLine: Int
    var endLine: Int
}

/// Decoding helpers for the conformance JSON files.
enum ParserFixtures {
    static func bytes(_ path: String) -> [UInt8] {
        (try? [UInt8](Conformance.data(path))) ?? []
    }

    static func text(_ path: String) -> String {
        String(decoding: bytes(path), as: UTF8.self)
    }

    static func json(_ path: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Conformance.data(path))) as? [String: Any] ?? [:]
    }

    /// `["FROM", 2, 2]` triples.
    static func instructionTriples(_ value: Any?) -> [ExpectedInstruction] {
        (value as? [[Any]] ?? []).compactMap { triple in
            guard triple.count == 3, let name = triple[0] as? String, let start = triple[1] as? Int,
                  let end = triple[2] as? Int else { return nil }
            return ExpectedInstruction(name: name, startLine: start, endLine: end)
        }
    }

    /// `{"instructionIndex": 3, "heredocs": [...]}` entries.
    static func heredocsByIndex(_ value: Any?) -> [Int: [Heredoc]] {
        var result: [Int: [Heredoc]] = [:]
        for entry in value as? [[String: Any]] ?? [] {
            guard let index = entry["instructionIndex"] as? Int else { continue }
            result[index] = heredocList(entry["heredocs"])
        }
        return result
    }

    static func heredocList(_ value: Any?) -> [Heredoc] {
        (value as? [[String: Any]] ?? []).map { item in
            Heredoc(name: item["name"] as? String ?? "", fileDescriptor: item["fileDescriptor"] as? Int ?? 0,
                    expand: item["expand"] as? Bool ?? true, chomp: item["chomp"] as? Bool ?? false,
                    content: item["content"] as? String ?? "")
        }
    }

    /// The first differing line of two dumps, for a readable failure.
    static func firstDifference(expected: String, actual: String) -> String {
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(expectedLines.count, actualLines.count) {
            let want = index < expectedLines.count ? String(expectedLines[index]) : "<none>"
            let got = index < actualLines.count ? String(actualLines[index]) : "<none>"
            if want != got { return "dump line \(index + 1): expected \(want) got \(got)" }
        }
        return "dump differs"
    }

    /// Parses a case and checks everything it specifies; returns a list of mismatches.
    static func check(_ testCase: ParserCase) -> [String] {
        let input = bytes(testCase.path)
        let parsed: ParsedDockerfile
        do {
            parsed = try DockerfileParser.parse(input)
        } catch {
            return testCase.expectError || !testCase.mustParse ? [] : ["unexpected error: \(error)"]
        }
        if testCase.expectError { return ["parsed, but the reference rejects this file"] }
        var problems: [String] = []
        if let resultPath = testCase.resultPath {
            let expected = text(resultPath)
            if parsed.dump != expected { problems.append(firstDifference(expected: expected, actual: parsed.dump)) }
        }
        if !testCase.instructions.isEmpty {
            let actual = parsed.nodes.map { ExpectedInstruction(name: $0.keywordAsWritten, startLine: $0.lines.start, endLine: $0.lines.end) }
            if actual != testCase.instructions {
                let index = zip(actual, testCase.instructions).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, testCase.instructions.count)
                problems.append("instruction #\(index) (of \(actual.count), expected \(testCase.instructions.count)): "
                    + "\(index < actual.count ? "\(actual[index])" : "none") != \(index < testCase.instructions.count ? "\(testCase.instructions[index])" : "none")")
            }
        }
        for (index, heredocs) in testCase.heredocs {
            let actual = index < parsed.nodes.count ? parsed.nodes[index].heredocs : []
            if actual != heredocs { problems.append("heredocs of #\(index): \(actual) != \(heredocs)") }
        }
        return problems
    }
}
