import Foundation
import KilnOCI
import KilnStorage
import KilnTestSupport
import Testing

/// One Kiln root as the `kiln` command uses it, and what a killed build may have left in it:
/// scratch directories, ownership records, ingest temp files, mounts, runc containers.
struct RootInspector {
    let root: KilnRoot

    var buildDirectories: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.tmp.path)) ?? []).filter { $0.hasPrefix("build-") }
    }

    /// Everything in `tmp/` (scratch directories, extracted stdin contexts).
    var temporaryEntries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: root.tmp.path)) ?? [] }

    /// The content store's ingest temp files.
    var ingestFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root.blobs.appendingPathComponent("ingest").path)) ?? []
    }

    /// Ingest temp files written by the process `pid` (named `<random>-<pid>-<starttime>`).
    func ingestFiles(of pid: Int32) -> [String] { ingestFiles.filter { $0.contains("-\(pid)-") } }

    /// `owners/<id>.json` records, decoded.
    var ownershipRecords: [OwnershipRecord] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.owners.path)) ?? []).filter { $0.hasSuffix(".json") }.compactMap {
            FileManager.default.contents(atPath: root.owners.appendingPathComponent($0).path)
                .flatMap { try? JSONDecoder().decode(OwnershipRecord.self, from: $0) }
        }
    }

    /// Every file in `owners/` but the root-wide `.lock`.
    var ownerFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.owners.path)) ?? []).filter { $0 != ".lock" }
    }

    var mountsUnderRoot: [String] {
        (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
            .filter { $0.hasPrefix(root.url.path + "/") }
    }

    /// The containers `runc` knows in the root's state directory: id and bundle.
    func containers() throws -> [(id: String, bundle: String)] {
        let state = root.url.appendingPathComponent("runtime").path
        guard FileManager.default.fileExists(atPath: state) else { return [] }
        let output = try ProcessRunner.checked("runc", ["--root", state, "list", "--format", "json"]).stdout
        let list = (try JSONSerialization.jsonObject(with: Data(output.utf8), options: .fragmentsAllowed) as? [[String: Any]]) ?? []
        return list.map { ($0["id"] as? String ?? "", $0["bundle"] as? String ?? "") }
    }

    /// What is left, for failure messages.
    var leftovers: String {
        "tmp: \(temporaryEntries) ingest: \(ingestFiles) owners: \(ownerFiles) mounts: \(mountsUnderRoot)"
    }
}

/// Polls `condition` (every 2 ms) until it holds or `process` ended; returns whether it held.
/// No deadline: the process ending is what stops the wait, so no assertion depends on timing.
private func poll(while process: Process, until condition: () -> Bool) -> Bool {
    while !condition() {
        guard process.isRunning else { return condition() }
        usleep(2_000)
    }
    return true
}

/// `kill -9` of `kiln build` while it downloads a base layer and while it pushes: the next
/// build on the same root reclaims everything the dead one left, and the registry never holds
/// a tag that points at a missing blob. Real runc, real docker-registry, the fault proxy's
/// latency keeping the dead build's transfer in flight when the kill lands.
@Suite("kill -9 mid-pull and mid-push: the next build reclaims, the registry stays whole", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
       .enabled(if: TestRegistryFaultProxy.isAvailable, "python3 is not installed"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "runc is not installed"))
struct KilledTransferReclaimTests {
    let harness: BuildHarness
    let inspector: RootInspector

    init() throws {
        harness = try BuildHarness()
        inspector = RootInspector(root: harness.root)
    }

    var busyboxFlag: [String] { ["--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"] }

    /// `kiln build` arguments for `dockerfile` (written to a file of its own) with `flags`.
    func arguments(_ dockerfile: String, _ flags: [String], output: Bool = true) throws -> [String] {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let out = output ? ["--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)"] : []
        return ["build", "--progress", "plain", "-f", file.path] + flags + out + [harness.context.path]
    }

    func run(_ dockerfile: String, _ flags: [String], output: Bool = true) throws -> KilnBinary.Result {
        try KilnBinary.run(try arguments(dockerfile, flags, output: output), environment: ["KILN_ROOT": harness.root.url.path])
    }

    /// A base image of busybox plus `/random`, `megabytes` MB of random bytes (so its one layer
    /// is that big compressed), imported with `kiln import` and copied to `repository` with skopeo.
    /// Returns the layer's digest.
    func pushBigBase(to registry: TestRegistry, repository: String, megabytes: Int = 6) throws -> String {
        let rootfs = harness.directory.appendingPathComponent("big-rootfs-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: harness.base.rootfs, to: rootfs)
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<(megabytes << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try bytes.write(to: rootfs.appendingPathComponent("random"))
        let layout = harness.directory.appendingPathComponent("big-layout-\(UUID().uuidString)")
        try ProcessRunner.checked(KilnBinary.url, ["import", rootfs.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "big:1"])
        try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layout.path):1",
                                             "docker://\(registry.host)/\(repository)"])
        let raw = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/\(repository)"]).stdout
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        let layers = try #require(manifest["layers"] as? [[String: Any]])
        try #require(layers.count == 1)
        return try #require(layers[0]["digest"] as? String)
    }

    /// A live build on the root, blocked inside its RUN until ``release(_:)``: the reclaimer
    /// must leave it, its scratch directory and its record alone.
    func startLiveBuild() throws -> (BackgroundBuild, scratch: String, gate: String) {
        let gate = "gate-\(UUID().uuidString.prefix(8).lowercased())"
        let live = try BackgroundBuild(try arguments(
            "FROM busybox\nRUN --mount=type=cache,target=/gate,id=\(gate) echo live-started; "
                + "while [ ! -e /gate/go ]; do sleep 0.1; done; echo live-done\n", busyboxFlag), root: harness.root.url)
        #expect(live.wait(for: " live-started\n"), "\(live.seen)")
        let scratch = try #require(inspector.buildDirectories.first)
        return (live, scratch, gate)
    }

    /// Lets the live build finish and checks it did, whole.
    func release(_ live: BackgroundBuild, gate: String) throws {
        let directory = harness.root.url.appendingPathComponent("cache-mounts")
            .appendingPathComponent(DigestHelper.sha256Hex(gate))
        FileManager.default.createFile(atPath: directory.appendingPathComponent("go").path, contents: nil)
        let (status, output) = live.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains(" live-done\n"))
    }

    /// Checks that nothing of a dead (or finished) build is on the root: no scratch directory,
    /// no ingest temp file, no record, no mount, no container.
    func expectNothingLeft(except liveScratch: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(inspector.buildDirectories == (liveScratch.map { [$0] } ?? []), "\(inspector.leftovers)", sourceLocation: sourceLocation)
        #expect(inspector.temporaryEntries.filter { !$0.hasPrefix("build-") }.isEmpty, "\(inspector.leftovers)", sourceLocation: sourceLocation)
        #expect(inspector.ingestFiles.isEmpty, "\(inspector.leftovers)", sourceLocation: sourceLocation)
        let records = inspector.ownershipRecords
        #expect(records.count == (liveScratch == nil ? 0 : 1), "\(inspector.leftovers)", sourceLocation: sourceLocation)
        if let liveScratch {
            #expect(records.allSatisfy { $0.scratch.hasSuffix("/" + liveScratch) }, "\(records)", sourceLocation: sourceLocation)
        }
        #expect(inspector.mountsUnderRoot.allSatisfy { mount in liveScratch.map { mount.contains("/tmp/\($0)/") } ?? false },
                "\(inspector.leftovers)", sourceLocation: sourceLocation)
        let containers = try inspector.containers()
        #expect(containers.count == (liveScratch == nil ? 0 : 1), "\(containers)", sourceLocation: sourceLocation)
    }

    @Test("kill -9 while a base layer downloads: the next build removes its ingest temp file, scratch and record; a live build goes on")
    func killedDuringBasePull() async throws {
        try await withTestRegistry { registry in
            let layer = try pushBigBase(to: registry, repository: "base/big:1")
            let (live, liveScratch, gate) = try startLiveBuild()
            // Every request through the proxy waits 1 s before it goes upstream: the layer's
            // GET is in flight (its ingest temp file open) long after the build asked for it.
            try await withFaultProxy(for: registry, faults: .init(latencyMilliseconds: 1000)) { proxy in
                let dead = try BackgroundBuild(try arguments(
                    "FROM \(proxy.host)/base/big:1\nRUN wc -c /random && echo dead-ran-$((1+1))\n", []), root: harness.root.url)
                let pid = dead.process.processIdentifier
                let downloading = poll(while: dead.process) { !inspector.ingestFiles(of: pid).isEmpty }
                kill(pid, SIGKILL)
                let (_, output) = dead.finish()
                try #require(downloading, "the build ended before it downloaded the layer: \(output)")
                #expect(dead.process.terminationReason == .uncaughtSignal)
                #expect(!output.contains("dead-ran-2"))

                // What it left, before anyone reclaims it: the point of this test.
                let store = ContentStore(root: harness.root)
                #expect(!store.exists(try #require(Digest(layer))), "the layer was whole before the kill")
                #expect(inspector.ingestFiles(of: pid).count == 1, "\(inspector.leftovers)")
                #expect(inspector.buildDirectories.count == 2)
                #expect(inspector.ownershipRecords.contains { $0.pid == pid })
            }

            // The next build, the same base straight from the registry: it reclaims, then pulls whole.
            let next = try run("FROM \(registry.host)/base/big:1\nRUN wc -c /random && echo next-ran-$((1+1))\n", [])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(next.stderr.contains("next-ran-2"))
            #expect(ContentStore(root: harness.root).exists(try #require(Digest(layer))))
            try expectNothingLeft(except: liveScratch)

            try release(live, gate: gate)
            try expectNothingLeft()
        }
    }

    @Test("kill -9 while the pushed blobs upload: the next build (and push) succeeds, nothing of the dead one is left, no tag points at a missing blob")
    func killedDuringPush() async throws {
        try await withTestRegistry { registry in
            let pushTemporaries = Set(Self.pushTemporaryFiles())
            // 8 MB of random bytes: one layer uploaded in a single PUT after a POST.
            let dockerfile = "FROM busybox\nRUN head -c 8000000 /dev/urandom > /big && echo built-$((1+1))\n"
            try await withFaultProxy(for: registry, faults: .init(latencyMilliseconds: 1000)) { proxy in
                let dead = try BackgroundBuild(try arguments(dockerfile, busyboxFlag + ["-t", "\(proxy.host)/app:v1", "--push"],
                                                             output: false), root: harness.root.url)
                let pid = dead.process.processIdentifier
                // An upload session was opened: blobs are on their way, the manifest (after every
                // blob, each request 1 s behind) is not.
                let uploading = poll(while: dead.process) {
                    proxy.requests().contains { $0.hasPrefix("POST /v2/app/blobs/uploads/") }
                }
                kill(pid, SIGKILL)
                let (_, output) = dead.finish()
                try #require(uploading, "the build ended before it uploaded: \(output)")
                #expect(dead.process.terminationReason == .uncaughtSignal)
                #expect(output.contains("built-2"))
                #expect(!output.contains("exported"))
            }
            // Whatever reached the registry: a tag app:v1, if there is one, is a whole image.
            try expectWholeOrAbsent(registry: registry, repository: "app", tag: "v1")

            // The next build on the same root pushes the same image straight to the registry.
            let next = try run(dockerfile, busyboxFlag + ["-t", "\(registry.host)/app:v1", "--push"], output: false)
            #expect(next.status == 0, "\(next.stderr)")
            try expectNothingLeft()
            #expect(Set(Self.pushTemporaryFiles()).subtracting(pushTemporaries).isEmpty)
            let tags = try ProcessRunner.checked("skopeo", ["list-tags", "--tls-verify=false", "docker://\(registry.host)/app"]).stdout
            #expect(tags.contains("\"v1\""))
            try expectWholeOrAbsent(registry: registry, repository: "app", tag: "v1")
        }
    }

    @Test("kill -9 while a push fetches a base layer it could not mount: the next build removes the ingest temp file")
    func killedWhilePushFetchesDeferredLayer() async throws {
        try await withTestRegistry { source in
            try await withTestRegistry { target in
                let layer = try pushBigBase(to: source, repository: "base/big:1")
                try await withFaultProxy(for: source, faults: .init(latencyMilliseconds: 1000)) { proxy in
                    // No step needs the base's files, so its layer stays in the source registry
                    // until the push to another registry, which cannot mount it, fetches it.
                    let dead = try BackgroundBuild(try arguments(
                        "FROM \(proxy.host)/base/big:1\nLABEL kiln.test=deferred\n", ["-t", "\(target.host)/app:v1", "--push"],
                        output: false), root: harness.root.url)
                    let pid = dead.process.processIdentifier
                    let fetching = poll(while: dead.process) { !inspector.ingestFiles(of: pid).isEmpty }
                    kill(pid, SIGKILL)
                    let (_, output) = dead.finish()
                    try #require(fetching, "the build ended before its push fetched the base layer: \(output)")
                    #expect(!ContentStore(root: harness.root).exists(try #require(Digest(layer))))
                    #expect(inspector.ingestFiles(of: pid).count == 1, "\(inspector.leftovers)")
                }
                try expectWholeOrAbsent(registry: target, repository: "app", tag: "v1")

                let next = try run("FROM busybox\nRUN echo next\n", busyboxFlag)
                #expect(next.status == 0, "\(next.stderr)")
                // The build's ownership record is released before the push, but the temp file
                // carries its creator's pid and start time: the next build removes it.
                #expect(inspector.ingestFiles.isEmpty, "\(inspector.leftovers)")
                #expect(inspector.buildDirectories.isEmpty, "\(inspector.leftovers)")
                #expect(inspector.ownerFiles.isEmpty, "\(inspector.leftovers)")
                #expect(try inspector.containers().isEmpty)
            }
        }
    }

    @Test("kill -9 of `kiln build -` (context as a tar on stdin) during a RUN: the next build removes the extracted context too")
    func killedStdinContextBuild() throws {
        let context = harness.directory.appendingPathComponent("stdin-context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try Data("FROM busybox\nRUN echo dead-started; sleep 300\n".utf8).write(to: context.appendingPathComponent("Dockerfile"))
        let tar = harness.directory.appendingPathComponent("context.tar")
        try ProcessRunner.checked("tar", ["-cf", tar.path, "-C", context.path, "."])

        let dead = try BackgroundBuild(
            ["build", "--progress", "plain"] + busyboxFlag
                + ["--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-stdin").path)", "-"],
            root: harness.root.url, stdin: try FileHandle(forReadingFrom: tar))
        let started = dead.wait(for: " dead-started\n")
        kill(dead.process.processIdentifier, SIGKILL)
        dead.process.waitUntilExit()
        try #require(started, "\(dead.seen)")
        #expect(inspector.temporaryEntries.contains { $0.hasPrefix("context-") }, "\(inspector.leftovers)")

        let next = try run("FROM busybox\nRUN echo next\n", busyboxFlag)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(inspector.buildDirectories.isEmpty, "\(inspector.leftovers)")
        #expect(inspector.ownerFiles.isEmpty, "\(inspector.leftovers)")
        #expect(try inspector.containers().isEmpty)
        // The context is extracted before the build's ownership record exists, into
        // tmp/context-<pid>-<start time>-…: the next build removes it as a dead process's.
        #expect(inspector.temporaryEntries.isEmpty, "\(inspector.leftovers)")
    }

    /// `kiln-push-*` spool files in the temporary directory.
    static func pushTemporaryFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? [])
            .filter { $0.hasPrefix("kiln-push-") }
    }

    /// If `repository:tag` exists, skopeo inspects it and copies every blob out of it.
    func expectWholeOrAbsent(registry: TestRegistry, repository: String, tag: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let list = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"),
                                         ["skopeo", "list-tags", "--tls-verify=false", "docker://\(registry.host)/\(repository)"])
        guard list.status == 0, list.stdout.contains("\"\(tag)\"") else { return }
        let reference = "docker://\(registry.host)/\(repository):\(tag)"
        let inspect = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["skopeo", "inspect", "--tls-verify=false", reference])
        #expect(inspect.status == 0, "\(inspect.stderr)", sourceLocation: sourceLocation)
        let copy = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "skopeo", "copy", "--src-tls-verify=false", reference,
            "oci:\(harness.directory.appendingPathComponent("copied-\(UUID().uuidString)").path):x",
        ])
        #expect(copy.status == 0, "a tag points at a missing or broken blob: \(copy.stderr)", sourceLocation: sourceLocation)
    }
}

enum DigestHelper {
    /// The sha256 of `text`'s UTF-8 bytes, in hex (how cache mount directories are named).
    static func sha256Hex(_ text: String) -> String {
        Digest.sha256(of: Data(text.utf8)).encoded
    }
}
