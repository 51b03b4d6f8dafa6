import Testing
@testable import KilnDockerfile

/// Makisu's `#!COMMIT` marker: recognised only through `recognisingCommitMarkers()`, only at the
/// end of a RUN/COPY/ADD line after a blank, and removed before anything reads the instruction.
@Suite struct CommitMarkerTests {
    private func recognised(_ text: String) throws -> [Node] {
        try DockerfileParser.parse(text).recognisingCommitMarkers().nodes
    }

    @Test func shellFormRunLosesTheMarkerAndKeepsItsPositions() throws {
        let plain = try DockerfileParser.parse("FROM a\nRUN make \\\n  all   #!COMMIT  \n").nodes[1]
        let node = try recognised("FROM a\nRUN make \\\n  all   #!COMMIT  \n")[1]
        #expect(node.endsWithCommitMarker)
        #expect(node.arguments == ["make   all"])
        #expect(node.original == "RUN make   all")
        #expect(node.location == plain.location && node.argumentLocations == plain.argumentLocations && node.lines == plain.lines)
        #expect(!plain.endsWithCommitMarker)
        #expect(plain.arguments == ["make   all   #!COMMIT"])
    }

    @Test func anyCaseAndBlanksAfterTheBang() throws {
        for spelling in ["#!commit", "#!Commit", "#! COMMIT", "#!\tcommit"] {
            let node = try recognised("RUN true \(spelling)\n")[0]
            #expect(node.endsWithCommitMarker, "\(spelling)")
            #expect(node.arguments == ["true"], "\(spelling)")
        }
    }

    @Test func execFormAfterStripping() throws {
        let node = try recognised("RUN [\"make\", \"all\"] #!COMMIT\n")[0]
        #expect(node.isExecForm)
        #expect(node.arguments == ["make", "all"])
    }

    @Test func copyAndAddWithFlags() throws {
        let nodes = try recognised("COPY --chown=1:1 a b /dst/ #!COMMIT\nADD [\"x\", \"/y\"] #!COMMIT\n")
        #expect(nodes[0].flags == ["--chown=1:1"])
        #expect(nodes[0].arguments == ["a", "b", "/dst/"])
        #expect(nodes[1].isExecForm && nodes[1].arguments == ["x", "/y"])
        #expect(nodes.allSatisfy { $0.endsWithCommitMarker })
    }

    @Test func heredocsStayAttached() throws {
        let node = try recognised("RUN <<EOF #!COMMIT\necho hi\nEOF\n")[0]
        #expect(node.endsWithCommitMarker)
        #expect(node.arguments == ["<<EOF"])
        #expect(node.heredocs.map(\.content) == ["echo hi\n"])
        #expect(try RunInstruction(node: node).runsHeredocAsScript)
    }

    @Test func notAMarker() throws {
        let lines = [
            "RUN echo a#!COMMIT",          // one shell word, not a comment
            "RUN echo #!COMMIT more",      // not at the end
            "RUN echo #!COMMITTED",
            "RUN echo # !COMMIT",
            "USER app #!COMMIT",            // not a RUN/COPY/ADD
            "WORKDIR /w #!COMMIT",
            "ONBUILD RUN x #!COMMIT",
        ]
        for line in lines {
            let node = try recognised(line + "\n")[0]
            #expect(!node.endsWithCommitMarker, "\(line)")
            #expect(node == (try DockerfileParser.parse(line + "\n")).nodes[0], "\(line)")
        }
    }
}
