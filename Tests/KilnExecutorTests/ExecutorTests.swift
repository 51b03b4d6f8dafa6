import Foundation
import KilnExecutor
import KilnStorage
import KilnTestSupport
import Testing

@Suite("Executor with runc on a busybox rootfs", .enabled(if: ExecutorFixture.hasRunc, "needs runc and busybox-static"))
struct ExecutorTests {
    @Test("echo output is streamed line by line and the status is 0")
    func echoStreams() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let (result, lines) = try await fixture.run(fixture.step("echo hello; echo world; echo oops >&2"))
        #expect(result.exitStatus == 0)
        #expect(lines.stdout == ["hello", "world"])
        #expect(lines.contains(OutputLine(stream: .stderr, text: "oops")))
        #expect(fixture.leftoverBundles().isEmpty)
    }

    @Test("a failing command returns its status and the last 20 lines")
    func failingCommand() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let (result, _) = try await fixture.run(fixture.step("seq 1 30; exit 3"))
        #expect(result.exitStatus == 3)
        #expect(!result.succeeded)
        #expect(result.lastLines.map(\.text) == (11...30).map(String.init))
    }

    @Test("environment, PATH default and working directory")
    func environmentAndCwd() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let step = fixture.step("echo $GREETING; pwd; echo $PATH; echo $HOME", workingDirectory: "/work",
                                environment: ["GREETING=hi there"])
        let (result, lines) = try await fixture.run(step)
        #expect(result.exitStatus == 0)
        #expect(lines.stdout == ["hi there", "/work", RuntimeSpec.defaultPath, "/root"])
    }

    @Test("USER by name gets the passwd ids, its primary group and the groups listing it")
    func userByName() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let script = "id; echo $HOME; cat /etc/hosts /etc/resolv.conf > /dev/null && echo etc-readable"
        let (result, lines) = try await fixture.run(fixture.step(script, user: "app"))
        #expect(result.exitStatus == 0)
        #expect(lines.stdout == ["uid=1000(app) gid=1000(app) groups=50(staff),1000(app),2000(builders)", "/home/app",
                                 "etc-readable"])
    }

    @Test("USER uid:gid and a uid without a passwd entry")
    func userByNumbers() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let numeric = try await fixture.run(fixture.step("id -u; id -g; id -G", user: "1000:50"))
        #expect(numeric.lines.stdout == ["1000", "50", "50"])
        let unknown = try await fixture.run(fixture.step("id -u; id -g", user: "4242"))
        #expect(unknown.lines.stdout == ["4242", "0"])
    }

    @Test("a command that does not exist is the runtime's error, not an exit status")
    func missingCommand() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        var step = fixture.step("unused")
        step.arguments = ["/bin/no-such-tool"]
        let error = await #expect(throws: ExecutorError.self) { try await fixture.executor.run(step) }
        guard case .runtimeFailed(let runtime, let message)? = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(runtime == "runc")
        #expect(message.contains("/bin/no-such-tool"))
        #expect(fixture.leftoverBundles().isEmpty)
    }

    @Test("a missing working directory is created by the runtime")
    func missingWorkingDirectory() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let (result, lines) = try await fixture.run(fixture.step("pwd", workingDirectory: "/srv/app"))
        #expect(result.exitStatus == 0)
        #expect(lines.stdout == ["/srv/app"])
        #expect(FileManager.default.fileExists(atPath: fixture.rootfs.path + "/srv/app"))
    }

    @Test("an unknown user fails before anything runs, with Docker's message")
    func unknownUser() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        await #expect(throws: UserResolutionError.unknownUser("ghost")) {
            try await fixture.executor.run(fixture.step("true", user: "ghost"))
        }
        #expect(fixture.leftoverBundles().isEmpty)
    }

    @Test("network none has only the loopback interface")
    func networkNone() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let (result, lines) = try await fixture.run(fixture.step("ls /sys/class/net; ip -o link | wc -l; ip -o link",
                                                                 network: .none))
        #expect(result.exitStatus == 0)
        #expect(lines.stdout.prefix(2) == ["lo", "1"])
        #expect(lines.stdout.last?.hasPrefix("1: lo: <LOOPBACK") == true)
    }

    @Test("host network sees the host's interfaces, and only with the network.host entitlement")
    func networkHost() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let host = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        let (result, lines) = try await fixture.run(fixture.step("cat /proc/net/dev", network: .host, entitlements: [.networkHost]))
        #expect(result.exitStatus == 0)
        let names = lines.stdout.dropFirst(2).compactMap { $0.split(separator: ":").first }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(names.sorted() == host)
        await #expect(throws: ExecutorError.notEntitled([.networkHost])) {
            try await fixture.executor.run(fixture.step("true", network: .host))
        }
        #expect(fixture.leftoverBundles().isEmpty)
    }

    @Test("the default network: its own tap0 with a default route, the host's interfaces invisible")
    func sandboxNetworkInterfaces() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let (result, lines) = try await fixture.run(fixture.step("ls /sys/class/net; ip route; cat /etc/resolv.conf"))
        #expect(result.exitStatus == 0, "\(lines)")
        #expect(lines.stdout.prefix(2) == ["lo", "tap0"])
        #expect(lines.stdout.contains { $0.hasPrefix("default via 10.0.2.2 dev tap0") })
        #expect(lines.stdout.contains { $0.trimmingCharacters(in: .whitespaces) == "prohibit 169.254.0.0/16" })
        #expect(fixture.leftoverBundles().isEmpty)
        // The namespace file and slirp4netns are gone with the step.
        let mounts = ProcFile.read("/proc/self/mountinfo") ?? ""
        #expect(!mounts.contains(fixture.scratch.path))
    }

    @Test("the default network reaches neither the host's loopback nor a link-local address; host network does")
    func sandboxNetworkCannotReachHost() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let alias = try LoopbackAlias()
        defer { alias.remove() }
        let loopback = try TCPListener(address: "127.0.0.1")
        defer { loopback.stop() }
        let linkLocal = try TCPListener(address: alias.address)
        defer { linkLocal.stop() }
        // 10.0.2.2 is slirp4netns's name for the host's loopback; 127.0.0.1 is the step's own.
        // `nc … -e true` ends as soon as it is connected (`true` exits), or fails to connect.
        let probes = ["10.0.2.2 \(loopback.port)", "127.0.0.1 \(loopback.port)", "\(alias.address) \(linkLocal.port)"]
        let script = probes.map { "nc \($0) -e true; echo \"status $?\"" }.joined(separator: "; ")
        let (result, lines) = try await fixture.run(fixture.step(script))
        #expect(result.exitStatus == 0, "\(lines)")
        #expect(lines.stdout.filter { $0.hasPrefix("status ") } == ["status 1", "status 1", "status 1"], "\(lines)")
        #expect(loopback.pendingConnections() == 0)
        #expect(linkLocal.pendingConnections() == 0)

        // The same probes from the host's network get through: the listeners do accept.
        let hostScript = ["127.0.0.1 \(loopback.port)", "\(alias.address) \(linkLocal.port)"]
            .map { "nc \($0) -e true; echo \"status $?\"" }.joined(separator: "; ")
        let (hostResult, hostLines) = try await fixture.run(fixture.step(hostScript, network: .host, entitlements: [.networkHost]))
        #expect(hostResult.exitStatus == 0)
        #expect(hostLines.stdout.filter { $0.hasPrefix("status ") } == ["status 0", "status 0"], "\(hostLines)")
        #expect(loopback.pendingConnections() == 1)
        #expect(linkLocal.pendingConnections() == 1)
    }

    @Test("--security=insecure: every capability, writable /sys, host devices; refused without the entitlement")
    func insecureSecurity() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let script = "grep CapEff /proc/self/status; touch /sys/kernel/kiln-probe 2>&1; echo sys=$?; ls /dev"
        let (sandboxed, sandboxLines) = try await fixture.run(fixture.step(script, network: .none))
        #expect(sandboxed.exitStatus == 0)
        let (result, lines) = try await fixture.run(fixture.step(script, network: .none, security: .insecure,
                                                                 entitlements: [.securityInsecure]))
        #expect(result.exitStatus == 0)
        // Every capability the test process itself holds.
        let own = try String(contentsOfFile: "/proc/self/status", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("CapBnd:") }.map { String($0.dropFirst("CapBnd:".count)).trimmingCharacters(in: .whitespaces) }
        let all = try #require(own)
        #expect(lines.stdout.first.map { $0.hasSuffix(all) } == true, "\(lines)")
        #expect(sandboxLines.stdout.first.map { !$0.hasSuffix(all) } == true)
        // sysfs is mounted read-only in the sandbox; writable (the kernel then refuses the
        // file itself, not the filesystem) when insecure.
        #expect(sandboxLines.stdout.contains { $0.contains("Read-only file system") })
        #expect(!lines.stdout.contains { $0.contains("Read-only file system") })
        // A host device beyond Docker's six is there.
        let hostOnly = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { ["loop-control", "fuse", "kmsg", "mem"].contains($0) }
        for name in hostOnly { #expect(lines.stdout.contains(name), "\(name)") }
        await #expect(throws: ExecutorError.notEntitled([.securityInsecure])) {
            try await fixture.executor.run(fixture.step("true", security: .insecure))
        }
    }

    @Test("/proc, /dev/shm, /dev/null and the hostname are set up like Docker's")
    func standardFilesystems() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let script = """
            test -r /proc/self/status && echo proc
            touch /dev/shm/x && echo shm
            echo gone > /dev/null && echo null
            test -d /dev/mqueue && echo mqueue
            test -c /dev/urandom && echo urandom
            touch /sys/x 2>/dev/null || echo sys-readonly
            hostname
            cat /etc/hostname
            ulimit -n
            """
        let (result, lines) = try await fixture.run(fixture.step(script))
        #expect(result.exitStatus == 0)
        let openFiles = try #require(RuntimeSpec.dockerDefaultRlimits.first).soft
        #expect(lines.stdout == ["proc", "shm", "null", "mqueue", "urandom", "sys-readonly", "kiln", "kiln", "\(openFiles)"])
    }

    @Test("generated /etc files are readable inside and leave the rootfs copies unchanged")
    func generatedEtcFiles() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        var step = fixture.step("cat /etc/hosts; cat /etc/resolv.conf > /dev/null && echo resolv-ok")
        step.extraHosts = [HostEntry(host: "registry.test", address: "10.1.2.3")]
        let (result, lines) = try await fixture.run(step)
        #expect(result.exitStatus == 0)
        #expect(lines.stdout.contains("127.0.0.1\tlocalhost kiln"))
        #expect(lines.stdout.contains("10.1.2.3\tregistry.test"))
        #expect(lines.stdout.last == "resolv-ok")
        let etc = fixture.rootfs.appendingPathComponent("etc")
        #expect(try String(contentsOf: etc.appendingPathComponent("hosts"), encoding: .utf8) == BusyboxRootfs.imageHosts)
        #expect(try String(contentsOf: etc.appendingPathComponent("resolv.conf"), encoding: .utf8)
                == BusyboxRootfs.imageResolvConf)
        // Only the mount points the image lacked were created, reported, and removed again.
        #expect(result.createdMountTargets == ["/proc", "/dev", "/sys", "/etc/hostname"])
        for path in result.createdMountTargets {
            #expect(!FileManager.default.fileExists(atPath: fixture.rootfs.path + path), "\(path)")
        }
    }

    @Test("a read-only bind mount refuses writes, a read-write one and a tmpfs accept them")
    func extraMounts() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let shared = fixture.scratch.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        try Data("from host\n".utf8).write(to: shared.appendingPathComponent("input.txt"))
        let script = """
            cat /ro/input.txt
            touch /ro/new 2>/dev/null && echo ro-writable || echo ro-refused
            echo written > /rw/output.txt && echo rw-ok
            echo scratch > /scratch/file && cat /scratch/file
            grep -q ' /scratch tmpfs ' /proc/mounts && echo tmpfs
            """
        let mounts: [StepMount] = [
            .bind(source: shared, destination: "/ro", readOnly: true),
            .bind(source: shared, destination: "/rw", readOnly: false),
            .tmpfs(destination: "/scratch", sizeBytes: 1 << 20),
        ]
        let (result, lines) = try await fixture.run(fixture.step(script, mounts: mounts))
        #expect(result.exitStatus == 0)
        #expect(lines.stdout == ["from host", "ro-refused", "rw-ok", "scratch", "tmpfs"])
        #expect(try String(contentsOf: shared.appendingPathComponent("output.txt"), encoding: .utf8) == "written\n")
        #expect(result.createdMountTargets.suffix(3) == ["/ro", "/rw", "/scratch"])
        // Nothing written through the mounts reached the rootfs, and the mount points are gone.
        for path in ["/ro", "/rw", "/scratch"] {
            #expect(!FileManager.default.fileExists(atPath: fixture.rootfs.path + path), "\(path)")
        }
    }

    @Test("a created mount point's parent that the step filled stays in the rootfs")
    func filledMountParentStays() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let step = fixture.step("echo kept > /cache/notes", mounts: [.tmpfs(destination: "/cache/tmp")])
        let (result, _) = try await fixture.run(step)
        #expect(result.exitStatus == 0)
        #expect(result.createdMountTargets.suffix(2) == ["/cache", "/cache/tmp"])
        let cache = fixture.rootfs.appendingPathComponent("cache")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path) == ["notes"])
    }

    @Test("cancelling a running step kills and deletes the container and removes the bundle")
    func cancellation() async throws {
        let fixture = try ExecutorFixture()
        defer { fixture.remove() }
        let id = Executor.newContainerID()
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            // Ends the wait below also when the step never starts, so a broken runtime fails the test.
            defer { startedContinuation.finish() }
            return try await fixture.executor.run(fixture.step("echo started; sleep 60"), containerID: id) { line in
                if line.text == "started" { startedContinuation.yield() }
            }
        }
        var didStart = false
        for await _ in started {
            didStart = true
            break
        }
        try #require(didStart)
        #expect(try await fixture.runtime.containerIDs().contains(id))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try await !fixture.runtime.containerIDs().contains(id))
        #expect(fixture.leftoverBundles().isEmpty)
    }
}
