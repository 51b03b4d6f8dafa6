import Foundation
import KilnBuilder
import KilnTestSupport
import Testing

@Suite("Builder: COPY and ADD through the step loop", .serialized)
struct BuilderCopyTests {
    @Test("COPY from the context and from a stage; a changed file reruns only the steps from its COPY")
    func copyAndCache() async throws {
        let harness = try BuildHarness()
        let app = harness.context.appendingPathComponent("app.txt")
        try Data("version 1\n".utf8).write(to: app)
        try Data("unchanged\n".utf8).write(to: harness.context.appendingPathComponent("static.txt"))
        let dockerfile = """
            FROM busybox AS build
            COPY static.txt /static/
            RUN echo compiled > /artifact
            COPY app.txt /app/
            RUN cat /app/app.txt
            FROM busybox
            COPY --from=build /artifact /app/app.txt /out/
            WORKDIR /out
            CMD ["cat", "app.txt", "artifact"]
            """
        let first = try await harness.build(dockerfile)
        #expect(harness.outputLines == ["version 1"])
        let bundle = try await harness.unpack(first)
        let out = bundle.appendingPathComponent("rootfs/out")
        #expect(try String(contentsOf: out.appendingPathComponent("artifact"), encoding: .utf8) == "compiled\n")
        #expect(try String(contentsOf: out.appendingPathComponent("app.txt"), encoding: .utf8) == "version 1\n")

        let same = try await harness.build(dockerfile)
        #expect(harness.executedSteps.isEmpty)
        #expect(same.manifestDigest == first.manifestDigest)

        try Data("version 2\n".utf8).write(to: app)
        _ = try await harness.build(dockerfile)
        // WORKDIR follows the changed COPY in the chain, so it runs again too.
        #expect(harness.executedSteps == ["COPY app.txt /app/", "RUN cat /app/app.txt", "COPY --from=build /artifact /app/app.txt /out/", "WORKDIR /out"])
        #expect(harness.outputLines == ["version 2"])
    }

    @Test("a missing COPY source names the Dockerfile line")
    func missingSource() async throws {
        let harness = try BuildHarness()
        await #expect {
            _ = try await harness.build("FROM busybox\nCOPY nothing-here /x\n")
        } throws: { error in
            "\(error)".contains("Dockerfile:2") && "\(error)".contains("nothing-here")
        }
        #expect(harness.leftoverTemporaryFiles.isEmpty)
    }
}
