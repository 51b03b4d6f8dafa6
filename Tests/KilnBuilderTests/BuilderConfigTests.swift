import Foundation
import KilnBuilder
import KilnOCI
import KilnTestSupport
import Testing

@Suite("Builder: metadata instructions and RUN", .serialized)
struct BuilderConfigTests {
    @Test("every metadata instruction lands in the config; history marks them empty_layer")
    func metadataInstructions() async throws {
        let harness = try BuildHarness()
        let result = try await harness.build("""
            FROM busybox
            ENV GREETING=hello PATH=/opt/bin:$PATH
            LABEL org.example.a=1 "b c"=d
            EXPOSE 8080 53/udp
            VOLUME /data
            USER nobody
            WORKDIR /srv/app
            STOPSIGNAL SIGINT
            HEALTHCHECK --interval=5s --retries=2 CMD true
            SHELL ["/bin/sh", "-ec"]
            ONBUILD RUN echo triggered
            ENTRYPOINT ["/bin/echo"]
            CMD hi
            MAINTAINER someone
            """)
        let config = try result.image.config()
        let container = config.config
        #expect(container.env.contains("GREETING=hello"))
        #expect(container.env.contains("PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        #expect(container.labels == ["org.example.a": "1", "b c": "d"])
        #expect(container.exposedPorts == ["8080/tcp", "53/udp"])
        #expect(container.volumes == ["/data"])
        #expect(container.user == "nobody")
        #expect(container.workingDir == "/srv/app")
        #expect(container.stopSignal == "SIGINT")
        #expect(container.healthcheck?.test == ["CMD-SHELL", "true"])
        #expect(container.healthcheck?.interval == .seconds(5))
        #expect(container.healthcheck?.retries == 2)
        #expect(container.shell == ["/bin/sh", "-ec"])
        #expect(container.onBuild == ["RUN echo triggered"])
        #expect(container.entrypoint == ["/bin/echo"])
        #expect(container.cmd == ["/bin/sh", "-ec", "hi"])
        #expect(config.author == "someone")
        // The base's history (one entry per imported layer) then one per instruction.
        let ours = config.history.suffix(13)
        #expect(ours.count == 13)
        #expect(ours.filter { !$0.emptyLayer }.map(\.createdBy) == ["WORKDIR /srv/app"])
        #expect(ours.first?.createdBy == "ENV GREETING=hello PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(config.rootfs.diffIDs.count == 2)  // busybox + the WORKDIR layer
    }

    @Test("ENTRYPOINT clears an inherited CMD but keeps one set in the same stage")
    func entrypointClearsInheritedCmd() async throws {
        let harness = try BuildHarness()
        let cleared = try await harness.build("FROM busybox\nENTRYPOINT [\"/bin/ls\"]\n")
        #expect(try cleared.image.config().config.cmd == [])
        let kept = try await harness.build("FROM busybox\nCMD [\"-l\"]\nENTRYPOINT [\"/bin/ls\"]\n")
        #expect(try kept.image.config().config.cmd == ["-l"])
    }

    @Test("RUN sees ENV, declared build args, USER and a created WORKDIR; build args are not persisted")
    func runEnvironment() async throws {
        let harness = try BuildHarness()
        let result = try await harness.build("""
            FROM busybox
            ARG VERSION=1
            ENV MODE=prod
            WORKDIR /work/dir
            USER nobody
            RUN echo "mode=$MODE version=$VERSION pwd=$(pwd) uid=$(id -u)"
            USER root
            RUN echo "$VERSION" > /version.txt && echo made > made.txt
            """, buildArgs: ["VERSION": "2", "UNDECLARED": "x"])
        #expect(harness.outputLines.contains("mode=prod version=2 pwd=/work/dir uid=65534"))
        let config = try result.image.config()
        #expect(!config.config.env.contains { $0.hasPrefix("VERSION=") })
        #expect(config.history.last?.createdBy == "RUN |1 VERSION=2 /bin/sh -c echo \"$VERSION\" > /version.txt && echo made > made.txt # buildkit")
        // The RUN that only printed made no layer.
        let runs = config.history.filter { $0.createdBy?.hasPrefix("RUN") == true }
        #expect(runs.map(\.emptyLayer) == [true, false])
        let bundle = try await harness.unpack(result)
        let rootfs = bundle.appendingPathComponent("rootfs")
        #expect(try String(contentsOf: rootfs.appendingPathComponent("version.txt"), encoding: .utf8) == "2\n")
        #expect(try String(contentsOf: rootfs.appendingPathComponent("work/dir/made.txt"), encoding: .utf8) == "made\n")
    }

    @Test("RUN heredocs: a script with a #! line runs as a file, a plain body through the shell")
    func runHeredocs() async throws {
        let harness = try BuildHarness()
        _ = try await harness.build("""
            FROM busybox
            RUN <<EOF
            #!/bin/sh -e
            echo "script: $0"
            EOF
            RUN <<EOF
            echo one
            echo two
            EOF
            """)
        #expect(harness.outputLines == ["script: /dev/.kiln-script/script", "one", "two"])
    }

    @Test("RUN --network=none sees only loopback; --label is added over the base's labels")
    func networkNoneAndLabels() async throws {
        let harness = try BuildHarness()
        var request = harness.request("""
            FROM busybox
            LABEL from.dockerfile=1 overridden=dockerfile
            RUN --network=none grep -c : /proc/net/dev
            """)
        request.labels = ["added": "yes", "overridden": "flag"]
        let result = try await harness.build(request)
        #expect(harness.outputLines == ["1"])
        #expect(try result.image.config().config.labels == ["from.dockerfile": "1", "overridden": "flag", "added": "yes"])
    }

    @Test("a failing RUN names the line, the exit code and the last output, and leaves nothing behind")
    func failingRun() async throws {
        let harness = try BuildHarness()
        let dockerfile = """
            FROM busybox
            RUN echo first > /first
            RUN for i in $(seq 1 30); do echo line$i; done; exit 3
            """
        await #expect {
            _ = try await harness.build(dockerfile)
        } throws: { error in
            let text = "\(error)"
            return text.contains("Dockerfile:3") && text.contains("exit code 3") && text.contains("line30")
                && text.contains("line11") && !text.contains("line10\n")
        }
        #expect(harness.leftoverTemporaryFiles.isEmpty)
        // Only the first RUN's entry: the failed step wrote none.
        #expect(harness.cacheEntryCount == 1)
    }
}
