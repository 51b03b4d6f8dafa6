import Testing
@testable import KilnDockerfile

@Suite struct DockerfileErrorTests {
    @Test func rendersLocationLineAndCaret() {
        let error = DockerfileError("unknown instruction: RUUN", at: SourceLocation(line: 7, column: 1),
                                    sourceLine: "RUUN echo hi", suggestion: "RUN")
        #expect(error.rendered(fileName: "Dockerfile") == """
            Dockerfile:7:1: error: unknown instruction: RUUN (did you mean RUN?)
             7 | RUUN echo hi
               | ^
            """)
    }

    @Test func caretFollowsTabs() {
        let error = DockerfileError("unknown flag: --chwon", at: SourceLocation(line: 12, column: 7), sourceLine: "\tCOPY --chwon=a b c")
        #expect(error.rendered(fileName: "x/Dockerfile").hasSuffix("\n    | \t     ^"))
    }

    @Test func wholeFileErrorHasNoLocation() {
        #expect(DockerfileError("file with no instructions").rendered(fileName: "Dockerfile") == "Dockerfile: error: file with no instructions")
    }
}
