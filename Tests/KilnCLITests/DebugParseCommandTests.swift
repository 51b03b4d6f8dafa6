import Foundation
import KilnTestSupport
import Testing

/// A parser conformance directory, run through the `kiln` binary as a user would.
struct ParserCase: Sendable, CustomStringConvertible {
    var directory: String
    var description: String { directory }

    static func all(in folder: String) -> [ParserCase] {
        ((try? Conformance.entries(folder)) ?? []).map { ParserCase(directory: "\(folder)/\($0)") }
    }
}

@Suite struct DebugParseCommandTests {
    @Test func conformanceFolderIsThere() throws {
        #expect(ParserCase.all(in: "dockerfile-parser/testfiles").count == 33)
        #expect(ParserCase.all(in: "dockerfile-parser/testfiles-negative").count == 4)
    }

    @Test(arguments: ParserCase.all(in: "dockerfile-parser/testfiles"))
    func buildkitDumpMatchesReference(_ testCase: ParserCase) throws {
        let dir = Conformance.url(testCase.directory)
        let result = try KilnBinary.run(["debug", "parse", "-f", dir.appendingPathComponent("Dockerfile").path, "--format", "buildkit"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdoutData == (try Data(contentsOf: dir.appendingPathComponent("result"))))
    }

    @Test(arguments: ParserCase.all(in: "dockerfile-parser/testfiles-negative"))
    func negativeCasesFailWithALocatedError(_ testCase: ParserCase) throws {
        let path = Conformance.url(testCase.directory).appendingPathComponent("Dockerfile").path
        let result = try KilnBinary.run(["debug", "parse", "-f", path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("\(path):"))
        #expect(result.stderr.contains("error: "))
    }

    @Test func readsStandardInput() throws {
        let result = try KilnBinary.run(["debug", "parse", "-f", "-"], stdin: Data("FROM busybox\nRUN echo hi\n".utf8))
        #expect(result.status == 0)
        #expect(result.stdout == "(from \"busybox\")\n(run \"echo hi\")\n")
    }

    @Test func missingFileIsAClearError() throws {
        let result = try KilnBinary.run(["debug", "parse", "-f", "/nonexistent/Dockerfile"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot read Dockerfile /nonexistent/Dockerfile: no such file"))
    }

    @Test func parseErrorShowsFileLineColumnLineAndCaret() throws {
        let result = try KilnBinary.run(["debug", "parse", "-f", "-"], stdin: Data("FROM busybox\nENV PATH\n".utf8))
        #expect(result.status == 1)
        // The error points at the argument that is missing its value, not at the keyword.
        #expect(result.stderr.hasPrefix("<stdin>:2:5: error: ENV must have two arguments"))
        #expect(result.stderr.contains("\n 2 | ENV PATH\n   |     ^"))
    }

    @Test func unknownInstructionIsAnErrorWithASuggestionInTheFullFrontend() throws {
        let input = Data("FROM busybox\n\nRUUN echo hi\n".utf8)
        let ast = try KilnBinary.run(["debug", "parse", "-f", "-"], stdin: input)
        #expect(ast.status == 0, "the AST stage accepts unknown keywords, as BuildKit's parser does")
        #expect(ast.stdout == "(from \"busybox\")\n(ruun \"\")\n")

        let typed = try KilnBinary.run(["debug", "parse", "-f", "-", "--format", "json"], stdin: input)
        #expect(typed.status == 1)
        #expect(typed.stdout.isEmpty)
        #expect(typed.stderr == """
            <stdin>:3:1: error: unknown instruction: RUUN (did you mean RUN?)
             3 | RUUN echo hi
               | ^

            """)
    }

    @Test func emptyContinuationLineWarnsOnStandardError() throws {
        let result = try KilnBinary.run(["debug", "parse", "-f", "-"], stdin: Data("FROM busybox\nRUN echo a \\\n\n  b\n".utf8))
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: "))
        #expect(result.stdout == "(from \"busybox\")\n(run \"echo a   b\")\n")
    }
}

@Suite struct KilnCommandTests {
    @Test func versionAndHelp() throws {
        let version = try KilnBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)

        let help = try KilnBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("debug"))
        #expect(help.stdout.contains("USAGE: kiln"))
    }

    @Test func unknownSubcommandFails() throws {
        let result = try KilnBinary.run(["bogus"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bogus"))
    }
}
