import Foundation
import Testing
@testable import KilnDockerfile

/// The JSON shape `kiln debug parse --format json` prints (documented on ``Dockerfile``).
@Suite struct StageEncodingTests {
    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func dockerfileShape() throws {
        let file = try Dockerfile(parsing: "ARG V=1\nFROM alpine:$V AS base\nUSER app:staff\nRUN --mount=type=cache,target=/c make\n")
        let text = try json(file)
        #expect(text == #"{"directives":{"escape":"\\"},"globalArgs":[{"arguments":[{"defaultValue":"1","name":"V"}],"source":{"column":1,"endLine":1,"keyword":"ARG","line":1,"original":"ARG V=1","startLine":1}}],"stages":[{"base":{"image":"alpine:1"},"from":{"base":"alpine:$V","name":"base","source":{"column":1,"endLine":2,"keyword":"FROM","line":2,"original":"FROM alpine:$V AS base","startLine":2}},"index":0,"instructions":[{"group":"staff","instruction":"USER","source":{"column":1,"endLine":3,"keyword":"USER","line":3,"original":"USER app:staff","startLine":3},"user":"app:staff","userName":"app"},{"command":{"shell":"make"},"devices":[],"heredocs":[],"instruction":"RUN","mounts":[{"readOnly":false,"required":false,"target":"/c","type":"cache"}],"source":{"column":1,"endLine":4,"keyword":"RUN","line":4,"original":"RUN --mount=type=cache,target=/c make","startLine":4}}],"name":"base"}],"warnings":[]}"#)
    }

    @Test func commandFormsAndSources() throws {
        #expect(try json(CommandForm.exec(["a", "b"])) == #"{"exec":["a","b"]}"#)
        #expect(try json(CommandForm.shell("a b")) == #"{"shell":"a b"}"#)
        #expect(try json(StageSource.scratch) == #"{"scratch":true}"#)
        #expect(try json(StageSource.stage(2)) == #"{"stage":2}"#)
    }

    @Test func planEncodes() throws {
        let plan = try Dockerfile(parsing: "FROM scratch\nARG A=1\nCOPY $A /x\n").plan()
        let text = try json(plan)
        #expect(text.contains(#""buildArgs":{"A":"1"}"#))
        #expect(text.contains(#""base":{"scratch":true}"#))
    }
}
