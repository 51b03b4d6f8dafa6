import Foundation
import KilnExecutor
import KilnTestSupport
import Testing

@Suite("Choosing an OCI runtime")
struct RuntimeDetectorTests {
    @Test("--runtime values parse")
    func parse() {
        #expect(RuntimeChoice(argument: "auto") == .auto)
        #expect(RuntimeChoice(argument: "runc") == .runc)
        #expect(RuntimeChoice(argument: "crun") == .crun)
        #expect(RuntimeChoice(argument: "/opt/runc") == .path(URL(fileURLWithPath: "/opt/runc")))
    }

    @Test("no runtime installed names the Debian packages")
    func noneInstalled() async throws {
        let detector = RuntimeDetector(searchPath: ["/nonexistent-kiln-bin"])
        let error = await #expect(throws: ExecutorError.self) { try await detector.runtime(for: .auto) }
        #expect(error?.description.contains("apt-get install runc") == true)
        #expect(error?.description.contains("crun") == true)
        await #expect(throws: ExecutorError.runtimeNotFound("runc")) { try await detector.runtime(for: .runc) }
    }

    @Test("a runtime path that does not exist fails clearly, also when running a step")
    func missingBinary() async throws {
        let missing = URL(fileURLWithPath: "/nonexistent-kiln-bin/runc")
        let error = await #expect(throws: ExecutorError.runtimeNotFound(missing.path)) {
            try await RuntimeDetector.shared.runtime(for: .path(missing))
        }
        #expect(error?.description == "OCI runtime not found at \(missing.path); install one: apt-get install runc (or apt-get install crun)")
        let rootfs = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-empty-\(UUID().uuidString)")
        let executor = Executor(runtime: OCIRuntime(executable: missing))
        await #expect(throws: ExecutorError.runtimeNotFound(missing.path)) {
            try await executor.run(ExecutionStep(rootfs: rootfs, arguments: ["true"]))
        }
        #expect(!FileManager.default.fileExists(atPath: rootfs.path))
    }

    @Test("auto picks a runtime that runs containers here, probing each binary once",
          .enabled(if: ExecutorFixture.hasRunc, "needs runc"))
    func auto() async throws {
        let detector = RuntimeDetector()
        let runtime = try await detector.runtime(for: .auto)
        #expect(["runc", "crun"].contains(runtime.name))
        #expect(await detector.probe(runtime) == nil)
        #expect(try await detector.runtime(for: .auto) == runtime)
    }

    @Test("a runtime that ran the probe container is not probed again by a later process of this boot, until the binary changes")
    func probeRecordedAcrossProcesses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-probe-records-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A stand-in runtime that logs each call and succeeds: `run` is the probe's container.
        let log = directory.appendingPathComponent("calls")
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let runc = bin.appendingPathComponent("runc")
        try Data("#!/bin/sh\nfor a in \"$@\"; do case $a in run|delete) echo $a >> \(log.path);; esac; done\nexit 0\n".utf8).write(to: runc)
        chmod(runc.path, 0o755)
        let records = directory.appendingPathComponent("records")
        func probes() -> Int {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0 == "run" }.count
        }

        #expect(try await RuntimeDetector(searchPath: [bin.path], probeRecords: records).runtime(for: .auto).executable == runc)
        #expect(probes() == 1)
        // Another detector is another process: the record answers.
        #expect(try await RuntimeDetector(searchPath: [bin.path], probeRecords: records).runtime(for: .auto).executable == runc)
        #expect(probes() == 1)
        // Without records, every process probes.
        _ = try await RuntimeDetector(searchPath: [bin.path], probeRecords: nil).runtime(for: .auto)
        #expect(probes() == 2)
        // A replaced binary is probed again.
        try Data("#!/bin/sh\nfor a in \"$@\"; do case $a in run) echo run >> \(log.path);; esac; done\nexit 0\n".utf8).write(to: runc)
        _ = try await RuntimeDetector(searchPath: [bin.path], probeRecords: records).runtime(for: .auto)
        #expect(probes() == 3)
        // A runtime that fails is never recorded: its reason is asked again.
        try Data("#!/bin/sh\necho refused >&2\nexit 1\n".utf8).write(to: runc)
        for _ in 0..<2 {
            await #expect(throws: ExecutorError.self) {
                try await RuntimeDetector(searchPath: [bin.path], probeRecords: records).runtime(for: .auto)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: records.path).count == 2)
    }

    @Test("crun either runs containers or is reported with its reason",
          .enabled(if: FileManager.default.isExecutableFile(atPath: ExecutorFixture.crun.path), "needs crun"))
    func crunProbe() async throws {
        let failure = await RuntimeDetector.shared.probe(OCIRuntime(executable: ExecutorFixture.crun))
        if let failure {
            // Debian's crun 1.8 on a hybrid cgroup v1/v2 machine.
            #expect(!failure.isEmpty)
            let hybrid = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains("cgroup2")
                && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified")
            if hybrid { #expect(failure.contains("hybrid")) }
        }
    }

    @Test("auto with only crun installed uses it or says why it cannot",
          .enabled(if: FileManager.default.isExecutableFile(atPath: ExecutorFixture.crun.path), "needs crun"))
    func autoWithOnlyCrun() async throws {
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-only-crun-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: bin) }
        try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("crun"),
                                                   withDestinationURL: ExecutorFixture.crun)
        let detector = RuntimeDetector(searchPath: [bin.path])
        let runtime = OCIRuntime(executable: bin.appendingPathComponent("crun"))
        if let failure = await detector.probe(runtime) {
            await #expect(throws: ExecutorError.noUsableRuntime(["\(runtime.executable.path): \(failure)"])) {
                try await detector.runtime(for: .auto)
            }
        } else {
            #expect(try await detector.runtime(for: .auto) == runtime)
        }
    }

    @Test("every runtime that works here runs a step",
          .enabled(if: ExecutorFixture.hasRunc, "needs runc and busybox-static"))
    func everyWorkingRuntime() async throws {
        for binary in [ExecutorFixture.runc, ExecutorFixture.crun]
        where FileManager.default.isExecutableFile(atPath: binary.path) {
            guard await RuntimeDetector.shared.probe(OCIRuntime(executable: binary)) == nil else { continue }
            let fixture = try ExecutorFixture(runtime: binary)
            defer { fixture.remove() }
            let (result, lines) = try await fixture.run(fixture.step("echo on $0; id -u", user: "app"))
            #expect(result.exitStatus == 0, "\(binary.path)")
            #expect(lines.stdout == ["on /bin/sh", "1000"], "\(binary.path)")
            #expect(try await !fixture.runtime.containerIDs().contains(result.containerID))
            #expect(fixture.leftoverBundles().isEmpty)
        }
    }
}
