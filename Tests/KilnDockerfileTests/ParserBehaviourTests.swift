import Testing
@testable import KilnDockerfile

/// Parser behaviour beyond the conformance data: node fields, positions, diagnostics, quoting.
@Suite struct ParserBehaviourTests {
    @Test func nodeFieldsAndPositions() throws {
        let parsed = try DockerfileParser.parse("""
            # syntax=docker/dockerfile:1
            FROM alpine AS base
              CoPy --chown=a:b \\
                src/ \\
                /dst/
            """)
        #expect(parsed.directives.syntax == "docker/dockerfile:1")
        #expect(parsed.nodes.count == 2)
        let from = parsed.nodes[0]
        #expect(from.keyword == "from" && from.keywordAsWritten == "FROM")
        #expect(from.arguments == ["alpine", "AS", "base"])
        #expect(from.argumentLocations == [SourceLocation(line: 2, column: 6), SourceLocation(line: 2, column: 13),
                                           SourceLocation(line: 2, column: 16)])
        #expect(from.lines == LineRange(start: 2, end: 2))
        let copy = parsed.nodes[1]
        #expect(copy.keyword == "copy" && copy.keywordAsWritten == "CoPy")
        #expect(copy.location == SourceLocation(line: 3, column: 3))
        #expect(copy.flags == ["--chown=a:b"])
        #expect(copy.flagLocations == [SourceLocation(line: 3, column: 8)])
        #expect(copy.arguments == ["src/", "/dst/"])
        #expect(copy.argumentLocations == [SourceLocation(line: 4, column: 5), SourceLocation(line: 5, column: 5)])
        #expect(copy.lines == LineRange(start: 3, end: 5))
        #expect(copy.original == "CoPy --chown=a:b     src/     /dst/")
        #expect(copy.dump == #"(copy ["--chown=a:b"] "src/" "/dst/")"#)
    }

    @Test func execFormAndOnbuild() throws {
        let parsed = try DockerfileParser.parse("""
            CMD ["echo", "a b"]
            onbuild RUN --network=none make
            HEALTHCHECK --interval=5s CMD curl -f http://x/
            """)
        #expect(parsed.nodes[0].isExecForm)
        #expect(parsed.nodes[0].arguments == ["echo", "a b"])
        let onbuild = parsed.nodes[1]
        #expect(onbuild.arguments.isEmpty)
        #expect(onbuild.nested?.keyword == "run")
        #expect(onbuild.nested?.flags == ["--network=none"])
        #expect(onbuild.nested?.location == SourceLocation(line: 2, column: 9))
        #expect(parsed.dump == """
            (cmd "echo" "a b")
            (onbuild (run ["--network=none"] "make"))
            (healthcheck ["--interval=5s"] "CMD" "curl -f http://x/")

            """)
    }

    @Test func sourceLinesDropBOMAndCRLF() throws {
        let parsed = try DockerfileParser.parse([0xEF, 0xBB, 0xBF] + Array("FROM a\r\nRUN b\r\n".utf8))
        #expect(parsed.sourceLines == ["FROM a", "RUN b"])
        #expect(parsed.nodes.map(\.location) == [SourceLocation(line: 1, column: 1), SourceLocation(line: 2, column: 1)])
        #expect(parsed.dump == "(from \"a\")\n(run \"b\")\n")
    }

    @Test func goQuoting() {
        #expect(GoText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(GoText.quoted("\u{07}\u{08}\u{0C}\n\r\t\u{0B}\u{00}\u{7F}") == #""\a\b\f\n\r\t\v\x00\x7f""#)
        #expect(GoText.quoted("♥ 한국어 â 😀") == "\"♥ 한국어 â 😀\"")
        #expect(GoText.quoted("\u{A0}\u{AD}\u{2028}\u{E000}") == #""\u00a0\u00ad\u2028\ue000""#)
        #expect(GoText.quoted("\u{10FFFF}\u{F0000}") == #""\U0010ffff\U000f0000""#)
        var out: [UInt8] = []
        GoText.appendQuoted([0x61, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\xff\xc3(\xed\xa0\x80""#)
    }

    @Test func invalidUTF8IsDumpedByteExact() throws {
        let parsed = try DockerfileParser.parse(Array("FROM a".utf8) + [0xFF] + Array(" b\n".utf8))
        #expect(parsed.nodes[0].dump == #"(from "a\xff" "b")"#)
    }

    @Test func flagsAreScannedAsLatin1Bytes() throws {
        let parsed = try DockerfileParser.parse("FROM --platform=é x\n")
        #expect(parsed.dump == "(from [\"--platform=Ã©\"] \"x\")\n")
    }

    @Test func errorsCarryLocationAndSourceLine() {
        func error(_ text: String) -> DockerfileError? {
            do { _ = try DockerfileParser.parse(text); return nil } catch { return error }
        }
        let env = error("FROM a\n  ENV PATH\n")
        #expect(env?.message == "ENV must have two arguments")
        #expect(env?.location == SourceLocation(line: 2, column: 7))
        #expect(env?.sourceLine == "  ENV PATH")

        let equals = error("FROM a\nLABEL a=1 \\\n  b\n")
        #expect(equals?.message == #"Syntax error - can't find = in "b". Must be of the form: name=value"#)
        #expect(equals?.location == SourceLocation(line: 3, column: 3))

        let json = error("CMD [\"a\", 1]\n")
        #expect(json?.message == "when using JSON array syntax, arrays must be comprised of strings only")
        #expect(json?.location == SourceLocation(line: 1, column: 5))

        let escape = error("# escape=x\nFROM a\n")
        #expect(escape?.message == "invalid escape token 'x' does not match ` or \\")
        #expect(escape?.location?.line == 1)

        let duplicate = error("# syntax=a\n# SYNTAX=b\nFROM a\n")
        #expect(duplicate?.message == "only one syntax parser directive can be used")
        #expect(duplicate?.location?.line == 2 && duplicate?.sourceLine == "# SYNTAX=b")

        let empty = error("")
        #expect(empty?.message == "file with no instructions" && empty?.location == nil)
        let comments = error("# just\n\n# comments\n")
        #expect(comments?.message == "file with no instructions" && comments?.location?.line == 3)
    }

    @Test func escapeDirectiveChangesContinuationAndWords() throws {
        let parsed = try DockerfileParser.parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\nENV A=x` y\n")
        #expect(parsed.directives.escapeToken == "`")
        #expect(parsed.nodes[1].arguments == ["dir c:\\   && echo"])
        #expect(parsed.nodes[2].arguments == ["A", "x` y", "="])
    }

    @Test func physicalLineLengthLimit() throws {
        let longest = "RUN " + String(repeating: "x", count: SourceText.maximumLineLength - 4)
        #expect(try DockerfileParser.parse(longest + "\n").nodes[0].arguments[0].utf8.count == SourceText.maximumLineLength - 4)
        do {
            _ = try DockerfileParser.parse("FROM a\n" + longest + "y\n")
            Issue.record("an over-long line must fail")
        } catch {
            #expect(error.message == "dockerfile line greater than max allowed size of 65535")
            #expect(error.location?.line == 2)
            #expect(error.sourceLine?.hasPrefix("RUN xxx") == true && error.sourceLine?.hasSuffix("…") == true)
        }
    }

    @Test func emptyLogicalLineIsAnEmptyKeyword() throws {
        #expect(try DockerfileParser.parse("\\\n").dump == "(\"\")\n")
    }
}
