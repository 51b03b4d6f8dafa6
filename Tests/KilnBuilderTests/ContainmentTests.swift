import Foundation
import KilnStorage
import KilnTestSupport
import Testing

/// `kiln build`'s containment, through the command: entitlements, the default network.
@Suite("kiln build: entitlements and the default network", .serialized)
struct EntitlementTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    /// Builds `dockerfile` (written to a file of its own) with `flags`; returns the result and the file.
    func build(_ dockerfile: String, _ flags: [String] = []) throws -> (KilnBinary.Result, URL) {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--no-cache", "-f", file.path, "--build-context", contextFlag] + flags
                + ["--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)",
                   harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
        return (result, file)
    }

    @Test("RUN --security=insecure without --allow security.insecure fails at plan time, naming file:line; nothing ran")
    func insecureNeedsEntitlement() throws {
        let (result, file) = try build("FROM busybox\nRUN echo ran-early\nRUN --security=insecure grep CapEff /proc/self/status\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(file.path):3:"), "\(result.stderr)")
        #expect(result.stderr.contains("--allow security.insecure"))
        #expect(result.stderr.contains("RUN --security=insecure grep CapEff"))
        #expect(!result.stderr.contains("ran-early"))
    }

    @Test("with --allow security.insecure the step runs with every capability Kiln holds; other steps keep the sandbox")
    func insecureRuns() throws {
        let (result, _) = try build("FROM busybox\nRUN grep CapEff /proc/self/status\nRUN --security=insecure grep CapEff /proc/self/status\n",
                                    ["--allow", "security.insecure"])
        #expect(result.status == 0, "\(result.stderr)")
        let own = try String(contentsOfFile: "/proc/self/status", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("CapBnd:") }.map { String($0.dropFirst("CapBnd:".count)).trimmingCharacters(in: .whitespaces) }
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("CapEff:") }
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(lines.first.map { !$0.hasSuffix(own ?? "-") } == true)
        #expect(lines.last.map { $0.hasSuffix(own ?? "-") } == true)
    }

    @Test("host networking needs --allow network.host, for RUN --network=host and for --network host")
    func hostNeedsEntitlement() throws {
        let (perStep, file) = try build("FROM busybox\nRUN echo ran-early\nRUN --network=host ls /sys/class/net\n")
        #expect(perStep.status != 0)
        #expect(perStep.stderr.contains("\(file.path):3:"), "\(perStep.stderr)")
        #expect(perStep.stderr.contains("--allow network.host"))
        #expect(!perStep.stderr.contains("ran-early"))
        let (wide, _) = try build("FROM busybox\nRUN echo ran-early\n", ["--network", "host"])
        #expect(wide.status != 0)
        #expect(wide.stderr.contains("--network host needs the network.host entitlement"), "\(wide.stderr)")
        #expect(!wide.stderr.contains("ran-early"))

        let host = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        let (allowed, _) = try build("FROM busybox\nRUN --network=host ls /sys/class/net\n", ["--allow", "network.host"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        for name in host { #expect(allowed.stderr.contains(" \(name)\n"), "\(name)") }
    }

    @Test("--allow with an unknown entitlement is a usage error")
    func unknownEntitlement() throws {
        let (result, _) = try build("FROM busybox\n", ["--allow", "network.everything"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("network.host, security.insecure"), "\(result.stderr)")
    }

    @Test("the default network: a RUN gets tap0 and a default route; --network none only loopback")
    func defaultNetwork() throws {
        let (result, _) = try build("FROM busybox\nRUN ls /sys/class/net && ip route\nRUN --network=none ls /sys/class/net\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("#2 tap0\n") || result.stderr.contains(" tap0\n"), "\(result.stderr)")
        #expect(result.stderr.contains("default via 10.0.2.2 dev tap0"))
        let third = result.stderr.split(separator: "\n").filter { $0.hasPrefix("#3 ") && !$0.contains("[") && !$0.contains("DONE") }
        #expect(third.map { $0.dropFirst(3).split(separator: " ").last.map(String.init) ?? "" } == ["lo"], "\(result.stderr)")
    }
}

/// A `kiln build` running in the background, its standard error read as it comes.
final class BackgroundBuild {
    let process = Process()
    private let errors = Pipe()
    private(set) var seen = ""

    init(_ arguments: [String], root: URL, stdin: FileHandle? = nil) throws {
        process.executableURL = KilnBinary.url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["KILN_ROOT": root.path]) { $1 }
        if let stdin { process.standardInput = stdin }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Reads standard error until `text` appeared (true) or the build ended without it (false).
    func wait(for text: String) -> Bool {
        while !seen.contains(text) {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { return false }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        return true
    }

    /// Waits for the end; returns the exit status and everything printed on standard error.
    func finish() -> (Int32, String) {
        seen += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, seen)
    }
}

@Suite("kiln build: what a killed build left is reclaimed", .serialized)
struct ReclaimTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    func arguments(_ dockerfile: String, _ flags: [String] = []) throws -> [String] {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        return ["build", "--progress", "plain", "-f", file.path, "--build-context", contextFlag] + flags
            + ["--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)",
               harness.context.path]
    }

    /// The containers `runc` knows in the root's state directory: id and bundle.
    func containers() throws -> [(id: String, bundle: String)] {
        let state = harness.root.url.appendingPathComponent("runtime").path
        let output = try ProcessRunner.checked("runc", ["--root", state, "list", "--format", "json"]).stdout
        let list = (try JSONSerialization.jsonObject(with: Data(output.utf8), options: .fragmentsAllowed) as? [[String: Any]]) ?? []
        return list.map { ($0["id"] as? String ?? "", $0["bundle"] as? String ?? "") }
    }

    /// Files under the root whose contents include `text`.
    func files(containing text: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: harness.root.url.path)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix("config.json") || path.hasSuffix(".json") else { continue }
            if let data = FileManager.default.contents(atPath: harness.root.url.path + "/" + path),
               String(decoding: data, as: UTF8.self).contains(text) { found.append(path) }
        }
        return found
    }

    var mountPoints: [String] {
        (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
    }

    /// What is left under tmp/ and mounted under the root, for failure messages.
    var leftovers: String {
        let files = (FileManager.default.enumerator(atPath: harness.root.tmp.path)?.allObjects as? [String]) ?? []
        let mounts = mountPoints.filter { $0.hasPrefix(harness.root.url.path) }
        return "files: \(files.prefix(40)) mounts: \(mounts)"
    }

    var buildDirectories: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []).filter { $0.hasPrefix("build-") }
    }

    @Test("kill -9 during a RUN: the next build deletes its container, mounts, scratch and secret-holding bundle; a live build goes on")
    func killedBuildIsReclaimed() throws {
        let secretValue = "s3cret-\(UUID().uuidString)"
        let secret = harness.directory.appendingPathComponent("token")
        try Data(secretValue.utf8).write(to: secret)
        let marker = "kiln-dead-\(UUID().uuidString.prefix(8).lowercased())"
        let gate = "gate-\(UUID().uuidString.prefix(8).lowercased())"

        // A live build that waits, inside its RUN, for a file the test creates at the end.
        let live = try BackgroundBuild(try arguments(
            "FROM busybox\nRUN --mount=type=cache,target=/gate,id=\(gate) echo live-started; "
                + "while [ ! -e /gate/go ]; do sleep 0.1; done; echo live-done\n"), root: harness.root.url)
        #expect(live.wait(for: " live-started\n"), "\(live.seen)")
        let liveScratch = try #require(buildDirectories.first)

        // The build that dies: its secret is in its bundle's config.json (env=), its container sleeps.
        let dead = try BackgroundBuild(try arguments(
            "FROM busybox\nRUN --mount=type=secret,id=tok,env=TOKEN echo dead-started; sleep 300; echo \(marker)\n",
            ["--secret", "id=tok,src=\(secret.path)"]), root: harness.root.url)
        #expect(dead.wait(for: " dead-started\n"), "\(dead.seen)")
        kill(dead.process.processIdentifier, SIGKILL)
        dead.process.waitUntilExit()
        let deadScratch = try #require(buildDirectories.first { $0 != liveScratch })
        let deadPath = harness.root.tmp.appendingPathComponent(deadScratch).path
        // What it left, before anyone reclaims it: the point of this test.
        #expect(!files(containing: secretValue).isEmpty)
        #expect(mountPoints.contains { $0.hasPrefix(deadPath + "/") }, "\(leftovers)")
        #expect(try containers().count == 2)

        let next = try KilnBinary.run(try arguments("FROM busybox\nRUN echo next > /next\n"),
                                      environment: ["KILN_ROOT": harness.root.url.path])
        #expect(next.status == 0, "\(next.stderr)")

        #expect(buildDirectories == [liveScratch], "\(leftovers)")
        #expect(!mountPoints.contains { $0.hasPrefix(deadPath) })
        #expect(files(containing: secretValue).isEmpty)
        let remaining = try containers()
        #expect(remaining.count == 1)
        #expect(remaining.allSatisfy { $0.bundle.hasPrefix(harness.root.tmp.appendingPathComponent(liveScratch).path + "/") })
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        #expect(!processes.contains { pid in
            guard Int(pid) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: cmdline, as: UTF8.self).contains(marker)
        })
        let owners = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.owners.path)) ?? []
        #expect(owners.filter { $0.hasSuffix(".json") }.count == 1)

        // The live build was not touched: let it finish.
        let mounts = harness.root.url.appendingPathComponent("cache-mounts")
        // The cache's directory (beside it are its id record and lock file).
        let gateDirectory = try #require(try FileManager.default.contentsOfDirectory(atPath: mounts.path).first { !$0.contains(".") })
        FileManager.default.createFile(atPath: mounts.appendingPathComponent(gateDirectory).appendingPathComponent("go").path, contents: nil)
        let (status, output) = live.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains(" live-done\n"))
        #expect(buildDirectories.isEmpty)
        #expect(try containers().isEmpty)
    }

    @Test("kill -9 while the layer is written: the next build removes the half-written layer and ingest files")
    func killedDuringLayerWrite() throws {
        // 200 MB of random bytes take seconds to compress, time enough to see the layer file appear.
        let dead = try BackgroundBuild(try arguments("FROM busybox\nRUN head -c 200000000 /dev/urandom > /big\n"), root: harness.root.url)
        // The layer is written straight into the store's ingest directory (the base's small
        // blobs pass through there too: the layer is the file that grows past 8 MB).
        let ingestDirectory = harness.root.blobs.appendingPathComponent("ingest")
        var layerFile: String?
        while layerFile == nil && dead.process.isRunning {
            layerFile = ((try? FileManager.default.contentsOfDirectory(atPath: ingestDirectory.path)) ?? []).first { name in
                var info = stat()
                return stat(ingestDirectory.appendingPathComponent(name).path, &info) == 0 && info.st_size > 8 << 20
            }
            if layerFile == nil { usleep(5_000) }
        }
        kill(dead.process.processIdentifier, SIGKILL)
        dead.process.waitUntilExit()
        try #require(layerFile != nil, "the build ended before its layer was written")
        #expect(buildDirectories.count == 1)

        let next = try KilnBinary.run(try arguments("FROM busybox\nRUN echo next > /next\n"),
                                      environment: ["KILN_ROOT": harness.root.url.path])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(buildDirectories.isEmpty, "\(leftovers)")
        let ingest = harness.root.blobs.appendingPathComponent("ingest").path
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []).isEmpty)
        #expect(!mountPoints.contains { $0.hasPrefix(harness.root.tmp.path + "/") })
        #expect(try containers().isEmpty)
    }

    @Test("kiln cache prune reclaims a killed build too")
    func pruneReclaims() throws {
        let dead = try BackgroundBuild(try arguments("FROM busybox\nRUN echo dead-started; sleep 300\n"), root: harness.root.url)
        #expect(dead.wait(for: " dead-started\n"), "\(dead.seen)")
        kill(dead.process.processIdentifier, SIGKILL)
        dead.process.waitUntilExit()
        #expect(buildDirectories.count == 1)
        let prune = try KilnBinary.run(["cache", "prune"], environment: ["KILN_ROOT": harness.root.url.path])
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.stdout.contains("reclaimed what 1 dead build left"))
        #expect(buildDirectories.isEmpty, "\(leftovers)")
        #expect(try containers().isEmpty)
        #expect(!mountPoints.contains { $0.hasPrefix(harness.root.tmp.path + "/") })
    }
}

@Suite("kiln build: a private root", .serialized)
struct PrivateRootTests {
    @Test("$KILN_ROOT is 0700 and its user's; another user reaches neither a setuid file nor a device node unpacked from a base image")
    func otherUsersAreKeptOut() throws {
        let harness = try BuildHarness()
        var null = stat()
        #expect(stat("/dev/null", &null) == 0)
        // A base image shipping a setuid copy of busybox and a character device (/dev/null's numbers).
        let rootfs = harness.directory.appendingPathComponent("suid-rootfs")
        try FileManager.default.copyItem(at: harness.base.rootfs, to: rootfs)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs.appendingPathComponent("suid-busybox").path)
        #expect(chmod(rootfs.appendingPathComponent("suid-busybox").path, 0o4755) == 0)
        #expect(mknod(rootfs.appendingPathComponent("null-device").path, S_IFCHR | 0o666, null.st_rdev) == 0)
        let layout = harness.directory.appendingPathComponent("suid-layout")
        try ProcessRunner.checked(KilnBinary.url, ["import", rootfs.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "suid:1"])

        let dockerfile = harness.directory.appendingPathComponent("Dockerfile")
        try Data("FROM suid\nRUN test -u /suid-busybox && test -c /null-device\n".utf8).write(to: dockerfile)
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", dockerfile.path, "--build-context", "suid=oci-layout://\(layout.path):1",
             "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out").path)", harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
        #expect(result.status == 0, "\(result.stderr)")

        var info = stat()
        #expect(lstat(harness.root.url.path, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o700)
        #expect(info.st_uid == geteuid())

        // Unpacked in the snapshot store, as the image has them (layer digests depend on it).
        let unpacked = FileManager.default.enumerator(atPath: harness.root.url.path)?.allObjects as? [String] ?? []
        let setuid = try #require(unpacked.first { $0.hasSuffix("/suid-busybox") }.map { harness.root.url.path + "/" + $0 })
        let device = try #require(unpacked.first { $0.hasSuffix("/null-device") }.map { harness.root.url.path + "/" + $0 })
        #expect(lstat(setuid, &info) == 0 && info.st_mode & S_ISUID != 0)
        #expect(lstat(device, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)

        // setpriv still holds root's capabilities while it execs its program, so the program
        // is the host's busybox and the attempts are nobody's own.
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/busybox"]
        let setpriv = URL(fileURLWithPath: "/usr/bin/setpriv")
        let run = try ProcessRunner.run(setpriv, nobody + ["sh", "-c", "exec \(setuid) true"])
        #expect(run.status == 126)
        #expect(run.stderr.contains("Permission denied"), "\(run.stderr)")
        let open = try ProcessRunner.run(setpriv, nobody + ["cat", device])
        #expect(open.status != 0)
        #expect(open.stderr.contains("Permission denied"), "\(open.stderr)")

        // The same files where a user may reach them: nobody runs the setuid binary and opens
        // the device. (busybox picks its applet by name, so the copy is called `id`; busybox
        // itself drops the setuid privilege, a real setuid shell from an image would not.)
        let reachable = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-reachable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: reachable, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: reachable) }
        let id = reachable.appendingPathComponent("id").path
        try FileManager.default.copyItem(atPath: rootfs.appendingPathComponent("suid-busybox").path, toPath: id)
        #expect(chmod(id, 0o4755) == 0)
        #expect(mknod(reachable.appendingPathComponent("null-device").path, S_IFCHR | 0o666, null.st_rdev) == 0)
        let control = try ProcessRunner.run(setpriv, nobody + ["sh", "-c", "\(id) -u; cat \(reachable.path)/null-device"])
        #expect(control.status == 0, "\(control.stderr)")
    }

    @Test("an existing root is made private; one owned by another user is refused")
    func existingRoots() throws {
        let harness = try BuildHarness()
        try FileManager.default.createDirectory(at: harness.root.url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try Data("FROM busybox\n".utf8).write(to: harness.context.appendingPathComponent("Dockerfile"))
        let arguments = ["build", "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                         "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out").path)", harness.context.path]
        let first = try KilnBinary.run(arguments, environment: ["KILN_ROOT": harness.root.url.path])
        #expect(first.status == 0, "\(first.stderr)")
        var info = stat()
        #expect(lstat(harness.root.url.path, &info) == 0 && info.st_mode & 0o777 == 0o700)

        #expect(chown(harness.root.url.path, 65534, 65534) == 0)
        let refused = try KilnBinary.run(arguments, environment: ["KILN_ROOT": harness.root.url.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("belongs to uid 65534"), "\(refused.stderr)")
        #expect(chown(harness.root.url.path, geteuid(), getegid()) == 0)
    }
}
