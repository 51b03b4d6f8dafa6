import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// Hostile and random input: the parser must return or throw, never trap, hang or recurse deeply.
@Suite struct ParserRobustnessTests {
    @Test func deeplyNestedJSONFallsBackToShellForm() throws {
        let deep = String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
        let node = try DockerfileParser.parse("CMD \(deep)\n").nodes[0]
        #expect(node.isExecForm == false)
        #expect(node.arguments == [deep])
        let nested = "[\"a\", " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "]"
        #expect(throws: DockerfileError.self) { try DockerfileParser.parse("CMD \(nested)\n") }
    }

    @Test func deeplyNestedOnbuildIsRejected() {
        let chain = String(repeating: "ONBUILD ", count: 8_000) + "RUN x\n"
        #expect(throws: DockerfileError.self) { try DockerfileParser.parse(chain) }
        let allowed = String(repeating: "ONBUILD ", count: 3) + "RUN x\n"
        #expect((try? DockerfileParser.parse(allowed).dump) == "(onbuild (onbuild (onbuild (run \"x\"))))\n")
    }

    @Test func longLinesWithManyWordsStayLinear() throws {
        let words = String(repeating: "a ", count: 32_000)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let parsed = try DockerfileParser.parse("FROM \(words)\nARG \(words)\nENV \(String(repeating: "k=v ", count: 16_000))\n")
            #expect(parsed.nodes[0].arguments.count == 32_000)
            #expect(parsed.nodes[2].argumentLocations.count == 48_000)
        }
        #expect(elapsed < .seconds(10))
    }

    /// A hostile heredoc line, named for the test list.
    struct HostileLine: Sendable, CustomStringConvertible {
        var description: String
        var text: String
    }

    static let hostileHeredocLines: [HostileLine] = [
        HostileLine(description: "64 nested substitutions",
                    text: "RUN <<A " + String(repeating: "${a:-", count: 64) + String(repeating: "}", count: 64) + "\nA\n"),
        HostileLine(description: "6000 nested substitutions",
                    text: "RUN <<A " + String(repeating: "${a:-", count: 6000) + String(repeating: "}", count: 6000) + "\nA\n"),
        HostileLine(description: "unclosed quotes", text: "RUN <<A " + String(repeating: "\"$(", count: 10000) + "\nA\n"),
        HostileLine(description: "mixed quoting", text: "RUN <<A " + String(repeating: "'a'\"b\"\\c", count: 6000) + "\nA\n"),
        HostileLine(description: "patterns", text: "RUN <<A " + String(repeating: "${a/*/*}", count: 6000) + "\nA\n"),
        HostileLine(description: "only markers", text: "RUN " + String(repeating: "<<", count: 30000) + "\nA\n"),
    ]

    @Test(arguments: hostileHeredocLines)
    func hostileHeredocLineReturns(_ line: HostileLine) {
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = try? DockerfileParser.parse(line.text) }
        #expect(elapsed < .seconds(10))
    }

    @Test func manyContinuationLines() throws {
        let text = "RUN a \\\n" + String(repeating: "  b \\\n", count: 50_000) + "  c\n"
        let parsed = try DockerfileParser.parse(text)
        #expect(parsed.nodes[0].lines == LineRange(start: 1, end: 50_002))
    }

    static let fragments: [[UInt8]] = [
        "RUN ", "FROM ", "ENV ", "LABEL ", "ARG ", "COPY ", "ADD ", "ONBUILD ", "HEALTHCHECK ", "CMD ", "SHELL ",
        "<<", "<<-", "EOF", "'", "\"", "\\", "`", "\n", "\r\n", " ", "\t", "#", "# escape=`\n", "# syntax=x\n",
        "=", "[", "]", ",", "{", "}", "--", "--flag=", "$", "${", "}", "a", "é", "\u{A0}", "\u{2028}",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xEF, 0xBB, 0xBF], [0x00], [0xED, 0xA0, 0x80]]

    @Test(arguments: 0..<8)
    func randomInputNeverTraps(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 1)
        for _ in 0..<400 {
            var input: [UInt8] = []
            for _ in 0..<random.below(60) {
                input += Self.fragments[random.below(Self.fragments.count)]
            }
            if let parsed = try? DockerfileParser.parse(input) {
                _ = parsed.dump
                #expect(parsed.nodes.allSatisfy { $0.lines.start <= $0.lines.end })
                #expect(parsed.nodes.allSatisfy { $0.arguments.count == $0.argumentLocations.count })
            }
            _ = DockerfileParser.detectSyntax(input)
        }
    }
}
