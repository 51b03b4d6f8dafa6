import Foundation
import KilnBuilder
import KilnOCI
import KilnTestSupport
import Testing

@Suite("Builder: stages, cache, ONBUILD and the output image", .serialized)
struct BuilderStageTests {
    @Test("--target builds only the stages the target needs")
    func targetSkipsUnneededStages() async throws {
        let harness = try BuildHarness()
        let dockerfile = """
            FROM busybox AS unrelated
            RUN echo unrelated-ran
            FROM busybox AS base
            RUN echo base > /base
            FROM base AS app
            RUN cat /base
            FROM busybox AS last
            RUN echo last-ran
            """
        let result = try await harness.build(dockerfile, target: "app")
        #expect(harness.executedSteps == ["RUN echo base > /base", "RUN cat /base"])
        #expect(harness.outputLines == ["base"])
        #expect(!harness.outputLines.contains("unrelated-ran"))
        // Busybox's layer and the base stage's; `cat` wrote nothing.
        #expect(try result.image.config().rootfs.diffIDs.count == 2)
    }

    @Test("independent stages run at the same time: each waits for a file the other writes")
    func independentStagesRunConcurrently() async throws {
        let harness = try BuildHarness()
        // Built one after the other, the first stage would give up after 20 s and fail the build.
        let wait = "i=0; until [ -e /sync/$PEER ]; do i=$((i+1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done"
        let id = UUID().uuidString
        let result = try await harness.build("""
            FROM busybox AS left
            RUN --mount=type=cache,id=\(id),target=/sync PEER=right; touch /sync/left; \(wait); echo left > /left
            FROM busybox AS right
            RUN --mount=type=cache,id=\(id),target=/sync PEER=left; touch /sync/right; \(wait); echo right > /right
            FROM busybox
            RUN --mount=type=bind,from=left,source=/left,target=/l --mount=type=bind,from=right,source=/right,target=/r cat /l /r
            """)
        #expect(harness.outputLines == ["left", "right"])
        #expect(try result.image.config().rootfs.diffIDs.count == 1)
    }

    @Test("steps run on an overlay stack: one upper per step, each step's layer only its own changes")
    func overlayWorkingRootfs() async throws {
        let harness = try BuildHarness()
        let result = try await harness.build("""
            FROM busybox
            RUN grep -c '^overlay / overlay' /proc/mounts; echo one > /one
            RUN rm /one && echo two > /two && rm /bin/ls
            RUN echo nothing
            RUN echo three > /etc/three
            """)
        #expect(harness.outputLines == ["1", "nothing"])
        let config = try result.image.config()
        #expect(config.history.suffix(4).map(\.emptyLayer) == [false, false, true, false])
        let bundle = try await harness.unpack(result)
        let rootfs = bundle.appendingPathComponent("rootfs")
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("one").path))
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("bin/ls").path))
        #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("bin/cat").path))
        #expect(try String(contentsOf: rootfs.appendingPathComponent("two"), encoding: .utf8) == "two\n")
        #expect(try String(contentsOf: rootfs.appendingPathComponent("etc/three"), encoding: .utf8) == "three\n")
    }

    @Test("a second identical build runs no RUN and gives the same digest; --no-cache runs them again")
    func cacheHits() async throws {
        let harness = try BuildHarness()
        let dockerfile = """
            FROM busybox
            ARG FLAVOUR=plain
            RUN echo "$FLAVOUR" > /flavour
            LABEL stage=one
            RUN echo second > /second
            """
        let first = try await harness.build(dockerfile)
        #expect(harness.executedSteps.count == 2)
        // Executed steps say where their time went; the command's share is part of the whole.
        for record in first.steps where record.status == .executed {
            let timing = try #require(record.timing)
            #expect(timing.commandSeconds > 0 && timing.commandSeconds <= record.seconds)
        }
        let second = try await harness.build(dockerfile)
        #expect(harness.executedSteps.isEmpty)
        #expect(second.manifestDigest == first.manifestDigest)
        #expect(second.steps.filter { $0.status == .cached }.count == 2)

        // A build arg the stage does not declare changes no key.
        _ = try await harness.build(dockerfile, buildArgs: ["UNUSED": "1"])
        #expect(harness.executedSteps.isEmpty)
        // A declared one changes the keys of the RUNs after it.
        _ = try await harness.build(dockerfile, buildArgs: ["FLAVOUR": "spicy"])
        #expect(harness.executedSteps.count == 2)

        _ = try await harness.build(harness.request(dockerfile, noCache: true))
        #expect(harness.executedSteps.count == 2)
        #expect(harness.leftoverTemporaryFiles.isEmpty)
    }

    @Test("a later step hits again after a miss when it reaches a cached chain")
    func laterStepHitsAfterMiss() async throws {
        let harness = try BuildHarness()
        _ = try await harness.build("FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n")
        // Only the LABEL differs: metadata steps are not in the chain, so both RUNs hit.
        _ = try await harness.build("FROM busybox\nRUN echo a > /a\nLABEL changed=yes\nRUN echo b > /b\n")
        #expect(harness.executedSteps.isEmpty)
    }

    @Test("ONBUILD triggers of the base run right after FROM and are not inherited")
    func onbuildTriggers() async throws {
        let harness = try BuildHarness()
        let parent = try await harness.build("FROM busybox\nONBUILD RUN echo triggered > /triggered\nONBUILD ENV FROM_TRIGGER=1\n")
        let layout = harness.directory.appendingPathComponent("parent-layout")
        try await ImageExporter().export(parent.image, to: .ociLayout(directory: layout, name: "latest"))
        var request = harness.request("FROM parent\nRUN cat /triggered\n")
        request.namedContexts.append(NamedContext(name: "parent", layout: layout, tag: "latest"))
        let child = try await harness.build(request)
        #expect(harness.outputLines == ["triggered"])
        let config = try child.image.config()
        #expect(config.config.onBuild.isEmpty)
        #expect(config.config.env.contains("FROM_TRIGGER=1"))

        // A failing trigger is reported at the FROM that pulled it in.
        let failing = try await harness.build("FROM busybox\nONBUILD RUN exit 4\n")
        let failingLayout = harness.directory.appendingPathComponent("failing-layout")
        try await ImageExporter().export(failing.image, to: .ociLayout(directory: failingLayout, name: "latest"))
        var failingChild = harness.request("# a comment\nFROM failing\nRUN true\n")
        failingChild.namedContexts.append(NamedContext(name: "failing", layout: failingLayout, tag: "latest"))
        await #expect {
            _ = try await harness.build(failingChild)
        } throws: { error in
            "\(error)".contains("Dockerfile:2: RUN exit 4") && "\(error)".contains("exit code 4")
        }
    }

    @Test("the image runs: umoci unpack + runc run prints what the Dockerfile set up; skopeo reads it")
    func imageRuns() async throws {
        let harness = try BuildHarness()
        let result = try await harness.build("""
            FROM busybox AS build
            RUN mkdir -p /out && echo "built by stage" > /out/message
            FROM busybox
            RUN --mount=type=bind,from=build,source=/out,target=/in cp /in/message /message
            RUN --mount=type=tmpfs,target=/scratch echo temp > /scratch/t && test ! -e /message2
            ENV WHO=world
            ENTRYPOINT ["/bin/sh", "-c", "cat /message; echo hello $WHO"]
            """)
        let layout = harness.directory.appendingPathComponent("layout")
        try await ImageExporter().export(result.image, to: .ociLayout(directory: layout, name: "latest"))
        let inspect = try ProcessRunner.checked("skopeo", ["inspect", "oci:\(layout.path):latest"])
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(json?["Digest"] as? String == result.manifestDigest.description)
        let manifest = try result.image.manifest()
        #expect(manifest.annotations["org.opencontainers.image.base.digest"] == harness.base.digest)
        #expect(manifest.annotations["org.opencontainers.image.base.name"] == "docker.io/library/busybox:latest")
        #expect((json?["Layers"] as? [Any])?.count == 2)

        let bundle = try await harness.unpack(result)
        // umoci's config runs the entrypoint with a terminal; run it without one.
        let configURL = bundle.appendingPathComponent("config.json")
        var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        var process = spec["process"] as! [String: Any]
        process["terminal"] = false
        spec["process"] = process
        try JSONSerialization.data(withJSONObject: spec).write(to: configURL)
        let id = "kiln-builder-test-\(UUID().uuidString.prefix(8).lowercased())"
        let run = try ProcessRunner.run(URL(fileURLWithPath: "/usr/sbin/runc"), ["run", "--bundle", bundle.path, id])
        _ = try? ProcessRunner.run(URL(fileURLWithPath: "/usr/sbin/runc"), ["delete", "--force", id])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "built by stage\nhello world\n")
    }

    @Test("a secret mount is readable in RUN and reaches no layer, config or cache key")
    func secretMount() async throws {
        let harness = try BuildHarness()
        let secret = harness.directory.appendingPathComponent("token")
        try Data("s3cr3t-value".utf8).write(to: secret)
        var request = harness.request("""
            FROM busybox
            RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && echo token-length=$(wc -c < /run/secrets/token)
            """)
        request.secrets = ["token": secret]
        let result = try await harness.build(request)
        #expect(harness.outputLines == ["token-length=12"])
        #expect(try result.image.config().rootfs.diffIDs.count == 1)
        let cacheFiles = FileManager.default.enumerator(at: harness.root.cache, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { !$0.hasDirectoryPath } ?? []
        #expect(!cacheFiles.isEmpty)
        for file in cacheFiles {
            #expect(!(try String(contentsOf: file, encoding: .utf8)).contains("s3cr3t"))
        }
        #expect(!(try String(decoding: result.image.rawConfig(), as: UTF8.self)).contains("s3cr3t"))
    }

    @Test("FROM scratch with metadata only gives one empty layer, as buildah does (manifests need a layer)")
    func scratchImage() async throws {
        let harness = try BuildHarness()
        let result = try await harness.build("FROM scratch\nLABEL empty=yes\nCMD [\"/nothing\"]\n")
        let config = try result.image.config()
        #expect(config.rootfs.diffIDs.count == 1)
        let bundle = try await harness.unpack(result)
        #expect(try FileManager.default.contentsOfDirectory(atPath: bundle.appendingPathComponent("rootfs").path).isEmpty)
        #expect(config.history.map(\.emptyLayer) == [true, false])
        #expect(config.config.labels == ["empty": "yes"])
        #expect(config.history.map(\.createdBy) == ["LABEL empty=yes", "CMD [\"/nothing\"]"])
    }

    @Test("with SOURCE_DATE_EPOCH two fresh roots build the same digest")
    func reproducibleWithSourceDateEpoch() async throws {
        let dockerfile = "FROM busybox\nRUN echo data > /data && mkdir /dir\nENV X=1\n"
        var digests: [String] = []
        for _ in 0..<2 {
            let harness = try BuildHarness()
            var request = harness.request(dockerfile)
            request.sourceDateEpoch = 1_700_000_000
            let result = try await harness.build(request)
            #expect(try result.image.config().created == "2023-11-14T22:13:20Z")
            digests.append(result.manifestDigest.description)
        }
        #expect(digests[0] == digests[1])
    }

    @Test("a Dockerfile error is rendered with file:line:column and the line")
    func dockerfileError() async throws {
        let harness = try BuildHarness()
        await #expect {
            _ = try await harness.build("FROM busybox\nRUN echo ok\nEXPOSE notaport\n")
        } throws: { error in
            let text = "\(error)"
            return text.contains("Dockerfile:3:") && text.contains("EXPOSE notaport")
        }
        #expect(harness.leftoverTemporaryFiles.isEmpty)
    }
}
