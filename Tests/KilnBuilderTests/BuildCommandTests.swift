import Foundation
import KilnTestSupport
import Testing

@Suite("kiln build (the command)", .serialized)
struct BuildCommandTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
        try Data("FROM busybox\nRUN echo from-run > /built\nCMD [\"cat\", \"/built\"]\n".utf8)
            .write(to: harness.context.appendingPathComponent("Dockerfile"))
    }

    var environment: [String: String] { ["KILN_ROOT": harness.root.url.path] }
    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    @Test("default output: an OCI layout in ./kiln-out/<context name>, how to run it, iidfile and metadata file")
    func defaultOutput() throws {
        let work = harness.directory
        let metadata = work.appendingPathComponent("metadata.json")
        let iid = work.appendingPathComponent("iid")
        let arguments = ["build", "--progress", "plain", "--build-context", contextFlag, "--metadata-file", metadata.path,
                         "--iidfile", iid.path, harness.context.path]
        let first = try KilnBinary.run(arguments, environment: environment, currentDirectory: work)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("#2 [stage-0 2/3] RUN echo from-run > /built"))
        #expect(first.stdout.contains("umoci unpack --image \(work.path)/kiln-out/context:latest"))
        let inspect = try ProcessRunner.checked("skopeo", ["inspect", "oci:\(work.path)/kiln-out/context:latest"])
        let digest = try String(contentsOf: iid, encoding: .utf8)
        #expect(inspect.stdout.contains(digest))

        let second = try KilnBinary.run(arguments, environment: environment, currentDirectory: work)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("#2 CACHED"))
        #expect(try String(contentsOf: iid, encoding: .utf8) == digest)
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any]
        #expect(document?["containerimage.digest"] as? String == digest)
        let steps = document?["kiln.steps"] as? [[String: Any]] ?? []
        #expect(steps.compactMap { $0["status"] as? String } == ["cached", "metadata"])
    }

    @Test("--progress json prints one event object per line; docker-archive output loads in skopeo")
    func jsonProgressAndDockerArchive() throws {
        let archive = harness.directory.appendingPathComponent("image.tar")
        let result = try KilnBinary.run(
            ["build", "--progress", "json", "--build-context", contextFlag, "-t", "example/app:v1",
             "--output", "type=docker,dest=\(archive.path)", harness.context.path], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(events.count == result.stderr.split(separator: "\n").count)
        #expect(events.contains { $0["type"] as? String == "step-finished" && $0["status"] as? String == "executed" })
        #expect(events.filter { $0["type"] as? String == "step-finished" }.count == 3)
        let inspect = try ProcessRunner.checked("skopeo", ["inspect", "--config", "docker-archive:\(archive.path)"])
        #expect(inspect.stdout.contains("\"cat\""))
    }

    @Test("--progress tty collapses finished steps into one line each, CACHED on a rebuild")
    func ttyProgress() throws {
        let arguments = ["build", "--progress", "tty", "--build-context", contextFlag,
                         "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("tty-out").path)", harness.context.path]
        let first = try KilnBinary.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("=> [stage-0 2/3] RUN echo from-run > /built "))
        let second = try KilnBinary.run(arguments, environment: environment)
        #expect(second.stderr.contains("=> [stage-0 2/3] RUN echo from-run > /built CACHED\n"))
    }

    @Test("KILN_ROOTFS=copy: the copied working rootfs gives the same image as the overlay stack")
    func copiedRootfsMatchesOverlay() throws {
        let dockerfile = harness.directory.appendingPathComponent("Modes.Dockerfile")
        try Data("FROM busybox\nRUN echo a > /a && rm /bin/ls\nRUN echo quiet\nRUN echo b > /etc/b\n".utf8).write(to: dockerfile)
        var digests: [String] = []
        for mode in ["overlay", "copy"] {
            let iid = harness.directory.appendingPathComponent("iid-\(mode)")
            let result = try KilnBinary.run(
                ["build", "--progress", "plain", "-f", dockerfile.path, "--build-context", contextFlag, "--iidfile", iid.path,
                 "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(mode)").path)", harness.context.path],
                environment: ["KILN_ROOT": harness.directory.appendingPathComponent("root-\(mode)").path,
                              "KILN_ROOTFS": mode, "SOURCE_DATE_EPOCH": "1000"])
            #expect(result.status == 0, "\(result.stderr)")
            digests.append(try String(contentsOf: iid, encoding: .utf8))
        }
        #expect(digests[0] == digests[1])
    }

    @Test("a context tar on standard input")
    func contextFromStandardInput() throws {
        let tar = try ProcessRunner.checked("tar", ["-C", harness.context.path, "-cf", "-", "."])
        let out = harness.directory.appendingPathComponent("from-stdin")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--build-context", contextFlag, "--output", "type=oci,dest=\(out.path)", "-"],
            stdin: tar.stdoutData, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("index.json").path))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? [] == [])
    }

    @Test("a Dockerfile error exits non-zero with file:line:column and the line")
    func dockerfileError() throws {
        let dockerfile = harness.directory.appendingPathComponent("Broken.Dockerfile")
        try Data("FROM busybox\nCOPY --bogus=1 a b\n".utf8).write(to: dockerfile)
        let result = try KilnBinary.run(["build", "-f", dockerfile.path, "--build-context", contextFlag, harness.context.path],
                                        environment: environment)
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(dockerfile.path):2:"))
        #expect(result.stderr.contains("COPY --bogus=1 a b"))
    }

    @Test("SIGTERM during a RUN stops the container and removes the build's temp files")
    func terminationCleansUp() throws {
        let marker = "kiln-term-\(UUID().uuidString.prefix(8).lowercased())"
        let dockerfile = harness.directory.appendingPathComponent("Slow.Dockerfile")
        try Data("FROM busybox\nRUN echo started; sleep 300; echo \(marker)\n".utf8).write(to: dockerfile)
        let build = try BackgroundBuild(
            ["build", "--progress", "plain", "-f", dockerfile.path, "--build-context", contextFlag,
             "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("never").path)", harness.context.path],
            root: harness.root.url)
        #expect(build.wait(for: " started\n"))
        let process = build.process
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? [] == [])
        #expect(!FileManager.default.fileExists(atPath: harness.directory.appendingPathComponent("never").path))
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let survivors = processes.filter { pid in
            guard Int(pid) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: cmdline, as: UTF8.self).contains(marker)
        }
        #expect(survivors.isEmpty)
    }
}

@Suite("kiln build with a registry", .serialized, .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct BuildCommandRegistryTests {
    @Test("FROM a registry image (recorded by digest) and -t … --push to the registry")
    func registryBaseAndPush() async throws {
        let harness = try BuildHarness()
        try await withTestRegistry { registry in
            _ = try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", harness.base.ociReference,
                                                     "docker://\(registry.host)/base/busybox:1"])
            try Data("FROM \(registry.host)/base/busybox:1\nRUN echo pushed > /pushed\n".utf8)
                .write(to: harness.context.appendingPathComponent("Dockerfile"))
            let metadata = harness.directory.appendingPathComponent("metadata.json")
            let result = try KilnBinary.run(
                ["build", "--progress", "plain", "-t", "\(registry.host)/app/demo:v1", "--push",
                 "--metadata-file", metadata.path, harness.context.path],
                environment: ["KILN_ROOT": harness.root.url.path])
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any]
            let bases = document?["kiln.baseImages"] as? [String: String]
            #expect(bases?["\(registry.host)/base/busybox:1"] == harness.base.digest)
            let inspect = try ProcessRunner.checked("skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/app/demo:v1"])
            #expect(inspect.stdout.contains(document?["containerimage.digest"] as? String ?? "missing"))
        }
    }
}
