import Foundation
import KilnBuilder
import KilnStorage
import KilnTestSupport
import Testing

/// Layer snapshots (issue 15: "a step needs only what it reads", "snapshots are kept and
/// reused"): what one build ran or unpacked, the next build on the machine stacks with no
/// unpacking, and what a later step sees there is what it sees on a machine that unpacked the
/// layer from its blob.
@Suite("layer snapshots: kept, stacked, and the same as an unpacked layer", .serialized)
struct LayerSnapshotTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var environment: [String: String] { ["KILN_ROOT": harness.root.url.path] }
    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    @Test("a build right after a cold build unpacks nothing; the cold build unpacks only the base")
    func editBuildUnpacksNothing() async throws {
        let dockerfile = """
            FROM busybox
            RUN mkdir /app && echo one > /app/a && rm /etc/group
            COPY src /app/src
            RUN cat /app/src /app/a > /app/out
            """
        let source = harness.context.appendingPathComponent("src")
        try Data("first\n".utf8).write(to: source)
        let cold = try await harness.build(dockerfile)
        #expect(cold.unpackedLayers == 1)
        try Data("second\n".utf8).write(to: source)
        let edit = try await harness.build(dockerfile)
        #expect(harness.executedSteps == ["COPY src /app/src", "RUN cat /app/src /app/a > /app/out"])
        #expect(edit.unpackedLayers == 0)
        let bundle = try await harness.unpack(edit)
        #expect(try String(contentsOf: bundle.appendingPathComponent("rootfs/app/out"), encoding: .utf8) == "second\none\n")
        #expect(!FileManager.default.fileExists(atPath: bundle.appendingPathComponent("rootfs/etc/group").path))

        // The same edit on a machine with the blobs but no snapshots unpacks them and gives the same image.
        try FileManager.default.removeItem(at: harness.root.snapshots)
        try Data("third\n".utf8).write(to: source)
        let fromBlobs = try await harness.build(dockerfile)
        #expect(fromBlobs.unpackedLayers == 2)
        try Data("second\n".utf8).write(to: source)
        let again = try await harness.build(dockerfile)
        #expect(again.manifestDigest == edit.manifestDigest)
        #expect(again.unpackedLayers == 0)
    }

    @Test("a later step sees a kept snapshot exactly as an unpacked layer: mtimes in whole seconds, in the same build and the next")
    func keptSnapshotIsTheUnpackedLayer() async throws {
        let dockerfile = """
            FROM busybox
            RUN mkdir /d && echo hi > /d/f && echo x > /g
            ARG V
            RUN stat -c '%y %n' /d /d/f /g > /stat.txt
            """
        func seen(_ value: String) async throws -> String {
            let result = try await harness.build(dockerfile, buildArgs: ["V": value])
            let bundle = try await harness.unpack(result)
            return try String(contentsOf: bundle.appendingPathComponent("rootfs/stat.txt"), encoding: .utf8)
        }
        let sameBuild = try await seen("1")
        let lines = sameBuild.split(separator: "\n")
        #expect(lines.count == 3)
        for line in lines { #expect(line.contains(".000000000"), "\(line)") }
        let nextBuild = try await seen("2")
        #expect(harness.executedSteps == ["RUN stat -c '%y %n' /d /d/f /g > /stat.txt"])
        try FileManager.default.removeItem(at: harness.root.snapshots.appendingPathComponent("layers"))
        let unpacked = try await seen("3")
        #expect(sameBuild == nextBuild)
        #expect(nextBuild == unpacked)
    }

    @Test("a file made again under a directory a lower layer emptied is written, even when it equals the file that layer hid")
    func fileUnderOpaqueDirectoryIsWritten() async throws {
        let dockerfile = """
            FROM busybox
            RUN mkdir /d && echo same > /d/f && touch -r /d/f /ref
            RUN rm -rf /d && mkdir /d && echo other > /d/g
            ARG V
            RUN echo same > /d/f && touch -r /ref /d/f
            """
        // The first build runs everything on one stack; the second stacks the first two
        // layers' snapshots (the second one's /d opaque) under the last step.
        for value in ["1", "2"] {
            let result = try await harness.build(dockerfile, buildArgs: ["V": value])
            let bundle = try await harness.unpack(result)
            let file = bundle.appendingPathComponent("rootfs/d/f")
            #expect(FileManager.default.fileExists(atPath: file.path), "build \(value)")
            #expect((try? String(contentsOf: file, encoding: .utf8)) == "same\n")
            #expect(FileManager.default.fileExists(atPath: bundle.appendingPathComponent("rootfs/d/g").path))
        }
    }

    @Test("COPY --from of one file from a 200 MB stage this machine built reads and writes under 1 MB (kiln's /proc/self/io)")
    func copyFromReadsOnlyWhatItCopies() throws {
        try Data("""
            FROM busybox AS big
            RUN dd if=/dev/zero of=/big bs=1M count=200 2>/dev/null && echo small > /small
            FROM busybox
            ARG V
            RUN echo $V > /v
            COPY --from=big /small /small
            """.utf8).write(to: harness.context.appendingPathComponent("Dockerfile"))
        let metadata = harness.directory.appendingPathComponent("metadata.json")
        func build(_ value: String) throws -> [String: Any] {
            let output = harness.directory.appendingPathComponent("out-\(value)")
            let result = try KilnBinary.run(["build", "--progress", "plain", "--build-context", contextFlag, "--build-arg", "V=\(value)",
                                             "--metadata-file", metadata.path, "--output", "type=oci,dest=\(output.path)",
                                             harness.context.path], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            return try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any] ?? [:]
        }
        _ = try build("1")
        let second = try build("2")
        #expect(second["kiln.unpackedLayers"] as? Int == 0)
        let steps = second["kiln.steps"] as? [[String: Any]] ?? []
        let copy = try #require(steps.first { ($0["step"] as? [String: Any])?["text"] as? String == "COPY --from=big /small /small" })
        #expect(copy["status"] as? String == "executed")
        let io = try #require(copy["io"] as? [String: Any])
        let total = (io["readBytes"] as? Int ?? .max) + (io["writtenBytes"] as? Int ?? .max)
        #expect(total < 1 << 20, "COPY --from read and wrote \(total) bytes")
    }
}
