import Testing
@testable import KilnDockerfile

/// Heredocs through the whole parser: bodies, terminators, line ranges and errors.
@Suite struct ParserHeredocTests {
    @Test func bodiesKeepLineEndingsAndTabs() throws {
        let parsed = try DockerfileParser.parse("FROM a\r\nRUN <<-EOF cat\r\n\tx\r\n# not a comment \\\r\n\tEOF\r\nRUN b\r\n")
        #expect(parsed.nodes.count == 3)
        let run = parsed.nodes[1]
        #expect(run.heredocs == [Heredoc(name: "EOF", chomp: true, content: "\tx\r\n# not a comment \\\r\n")])
        #expect(run.lines == LineRange(start: 2, end: 5))
        #expect(run.dump == #"(run "<<-EOF cat")"#)
        #expect(parsed.nodes[2].lines == LineRange(start: 6, end: 6))
    }

    @Test func severalHeredocsAreReadInOrder() throws {
        let parsed = try DockerfileParser.parse("COPY <<one 3<<'two' /dst/\n1\none\n2\ntwo\n")
        #expect(parsed.nodes[0].heredocs == [
            Heredoc(name: "one", content: "1\n"),
            Heredoc(name: "two", fileDescriptor: 3, expand: false, content: "2\n"),
        ])
    }

    @Test func onbuildHeredocIsOnBothNodes() throws {
        let node = try DockerfileParser.parse("ONBUILD RUN <<EOF\necho hi\nEOF\n").nodes[0]
        #expect(node.heredocs.map(\.name) == ["EOF"])
        #expect(node.nested?.heredocs.map(\.content) == ["echo hi\n"])
        #expect(node.nested?.lines == LineRange(start: 1, end: 3))
    }

    @Test func execFormAndOtherInstructionsHaveNoHeredocs() throws {
        let parsed = try DockerfileParser.parse("RUN [\"<<EOF\"]\nUSER <<EOF\nONBUILD ONBUILD RUN <<EOF\nEOF\n")
        #expect(parsed.nodes.allSatisfy { $0.heredocs.isEmpty })
        #expect(parsed.nodes.count == 4)
    }

    @Test func backtickEscapeDoesNotChangeHeredocLexing() throws {
        let node = try DockerfileParser.parse("# escape=`\nRUN <<E\\OF\nx\nEOF\n").nodes[0]
        #expect(node.heredocs.map(\.name) == ["EOF"])
    }

    @Test func unterminatedHeredocIsLocated() {
        do {
            _ = try DockerfileParser.parse("FROM a\n  RUN <<EOF\necho\n")
            Issue.record("must fail")
        } catch {
            #expect(error.message == "unterminated heredoc")
            #expect(error.location == SourceLocation(line: 2, column: 3))
            #expect(error.sourceLine == "  RUN <<EOF")
        }
    }

    @Test func unlexableLineHasNoHeredocs() throws {
        // Like the reference: when the line itself cannot be split into words, nothing is a heredoc
        // and the following lines are instructions.
        let parsed = try DockerfileParser.parse("RUN cat <<EOF'\nx\nEOF\n")
        #expect(parsed.nodes.map(\.keyword) == ["run", "x", "eof"])
        #expect(parsed.nodes[0].heredocs.isEmpty)
    }

    @Test func longHeredocLinesStayFast() throws {
        let openers = String(repeating: "<<A ", count: 12_000)
        let bodies = String(repeating: "A\n", count: 12_000)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let parsed = try DockerfileParser.parse("RUN \(openers)\n\(bodies)")
            #expect(parsed.nodes[0].heredocs.count == 12_000)
        }
        #expect(elapsed < .seconds(10))
    }
}
