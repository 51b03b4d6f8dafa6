import Foundation
import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// The reference parser's own test files and the extra cases of `dockerfile-parser/`.
@Suite struct ParserConformanceTests {
    static let root = "dockerfile-parser"

    static func positiveCases() -> [ParserCase] {
        ((try? Conformance.entries("\(root)/testfiles")) ?? []).map {
            ParserCase(path: "\(root)/testfiles/\($0)/Dockerfile", resultPath: "\(root)/testfiles/\($0)/result")
        }
    }

    static func negativeCases() -> [ParserCase] {
        ((try? Conformance.entries("\(root)/testfiles-negative")) ?? []).map {
            ParserCase(path: "\(root)/testfiles-negative/\($0)/Dockerfile", expectError: true)
        }
    }

    /// `testfile-line`, `heredoc/*` and `warnings/*`: the `instructions` list of an `expected.json`.
    static func expectedJSONCases() -> [ParserCase] {
        var folders = ["\(root)/testfile-line", "\(root)/warnings/empty-continuation-line"]
        folders += ((try? Conformance.entries("\(root)/heredoc")) ?? []).map { "\(root)/heredoc/\($0)" }
        return folders.map { folder in
            let expected = ParserFixtures.json("\(folder)/expected.json")
            var testCase = ParserCase(path: "\(folder)/Dockerfile")
            if FileManager.default.fileExists(atPath: Conformance.url("\(folder)/result").path) {
                testCase.resultPath = "\(folder)/result"
            }
            for entry in expected["instructions"] as? [[String: Any]] ?? [] {
                let index = entry["index"] as? Int ?? 0
                testCase.instructions.append(ExpectedInstruction(
                    name: entry["instruction"] as? String ?? "", startLine: entry["startLine"] as? Int ?? 0,
                    endLine: entry["endLine"] as? Int ?? 0))
                if entry["heredocs"] != nil { testCase.heredocs[index] = ParserFixtures.heredocList(entry["heredocs"]) }
            }
            return testCase
        }
    }

    static func generatedCases() -> [ParserCase] {
        let index = ParserFixtures.json("\(root)/generated-edge-cases/index.json")
        return (index["cases"] as? [[String: Any]] ?? []).map { entry in
            let dir = "\(root)/generated-edge-cases/\(entry["dir"] as? String ?? "")"
            let expectError = entry["expectError"] as? Bool ?? false
            return ParserCase(path: "\(dir)/Dockerfile", resultPath: expectError ? nil : "\(dir)/result",
                              expectError: expectError,
                              instructions: ParserFixtures.instructionTriples(entry["instructions"]),
                              heredocs: ParserFixtures.heredocsByIndex(entry["heredocs"]))
        }
    }

    static func referenceSnippets() -> [ParserCase] {
        let folder = "\(root)/reference-snippets"
        let index = ParserFixtures.json("\(folder)/index.json")
        return (index["snippets"] as? [[String: Any]] ?? []).map { entry in
            let ok = entry["referenceParseOk"] as? Bool ?? false
            return ParserCase(path: "\(folder)/\(entry["file"] as? String ?? "")",
                              resultPath: ok ? (entry["expectedResult"] as? String).map { "\(folder)/\($0)" } : nil,
                              expectError: !ok)
        }
    }

    @Test(arguments: positiveCases())
    func testfile(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test(arguments: negativeCases())
    func negativeTestfile(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test(arguments: expectedJSONCases())
    func linesAndHeredocs(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test(arguments: generatedCases())
    func generatedEdgeCase(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test(arguments: referenceSnippets())
    func referenceSnippet(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test func testfileLineRootSpan() throws {
        let parsed = try DockerfileParser.parse(ParserFixtures.bytes("\(Self.root)/testfile-line/Dockerfile"))
        #expect(parsed.nodes.first?.lines.start == 5)
        #expect(parsed.nodes.last?.lines.end == 31)
        #expect(parsed.nodes.count == 3)
    }

    @Test func emptyContinuationLineWarnings() throws {
        let folder = "\(Self.root)/warnings/empty-continuation-line"
        let expected = ParserFixtures.json("\(folder)/expected.json")["warnings"] as? [String] ?? []
        let parsed = try DockerfileParser.parse(ParserFixtures.bytes("\(folder)/Dockerfile"))
        #expect(parsed.warnings.map(\.message) == expected)
        #expect(expected.count == 2)
    }

    @Test(arguments: generatedCases().filter { !$0.expectError })
    func generatedEscapeToken(_ testCase: ParserCase) throws {
        let index = ParserFixtures.json("\(Self.root)/generated-edge-cases/index.json")
        let entry = (index["cases"] as? [[String: Any]] ?? []).first { testCase.path.contains("/\($0["dir"] as? String ?? "")/") }
        let parsed = try DockerfileParser.parse(ParserFixtures.bytes(testCase.path))
        #expect(String(parsed.directives.escapeToken) == entry?["escapeToken"] as? String)
    }
}
