import Foundation
import Glibc
import KilnExecutor
import KilnTestSupport
import Testing

/// `kiln build --platform linux/arm64` on an amd64 machine: RUN steps run the arm64 busybox
/// under QEMU (binfmt_misc, flag F) in runc and chrooted, the metadata says which steps were
/// emulated, and a machine without the emulator refuses the build at the RUN line before
/// anything is pulled.
@Suite("kiln build: RUN for a foreign platform under emulation", .serialized,
       .enabled(if: geteuid() == 0 && Emulators.isAarch64Available, Comment(rawValue: "needs root and "
           + (Emulators.aarch64UnavailableReason.isEmpty ? "qemu-aarch64" : Emulators.aarch64UnavailableReason))))
struct EmulationBuildTests {
    let harness: BuildHarness
    let arm64: BaseImages.BaseImage

    init() throws {
        harness = try BuildHarness()
        arm64 = try BaseImages.busyboxArm64()
        try Data("from the context\n".utf8).write(to: harness.context.appendingPathComponent("file"))
    }

    /// Runs `kiln build` of `dockerfile` with both busybox bases as named contexts and a
    /// metadata file; returns the result, the Dockerfile and the output layout.
    func build(_ dockerfile: String, _ flags: [String], environment: [String: String] = [:],
               name: String = UUID().uuidString) throws -> (result: KilnBinary.Result, file: URL, layout: URL, metadata: URL) {
        let file = harness.directory.appendingPathComponent("\(name).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let layout = harness.directory.appendingPathComponent("\(name)-out")
        let metadata = harness.directory.appendingPathComponent("\(name)-metadata.json")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path,
             "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
             "--build-context", "busybox-arm64=oci-layout://\(arm64.layout.path):\(arm64.refName)",
             "--metadata-file", metadata.path, "--output", "type=oci,dest=\(layout.path),name=out"] + flags + [harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path, "SOURCE_DATE_EPOCH": "0"].merging(environment) { $1 })
        return (result, file, layout, metadata)
    }

    /// `kiln.steps` of a metadata file, by step text.
    func steps(_ metadata: URL) throws -> [String: [String: Any]] {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any]
        let steps = try #require(document?["kiln.steps"] as? [[String: Any]])
        return Dictionary(steps.map { (($0["step"] as? [String: Any])?["text"] as? String ?? "", $0) }) { first, _ in first }
    }

    /// The file at `path` in the image of `layout`, unpacked with umoci.
    func file(_ path: String, in layout: URL) throws -> String {
        let bundle = harness.directory.appendingPathComponent("bundle-\(UUID().uuidString)")
        try ProcessRunner.checked("umoci", ["unpack", "--image", "\(layout.path):out", bundle.path])
        return try String(contentsOf: bundle.appendingPathComponent("rootfs").appendingPathComponent(path), encoding: .utf8)
    }

    /// A binfmt_misc directory without the aarch64 handler: mounted (`register`, `status`) but
    /// empty, or not mounted at all.
    func binfmtWithoutHandlers(mounted: Bool) throws -> URL {
        let directory = harness.directory.appendingPathComponent("binfmt-\(mounted ? "mounted" : "unmounted")")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if mounted {
            try Data().write(to: directory.appendingPathComponent("register"))
            try Data("enabled\n".utf8).write(to: directory.appendingPathComponent("status"))
        }
        return directory
    }

    @Test("RUN uname -m gives aarch64 in the layer, in runc and chrooted; the build says which interpreter; the metadata marks the step emulated",
          arguments: [["--isolation", "root", "--network", "none"], ["--isolation", "chroot"]])
    func runsUnderEmulation(isolation: [String]) throws {
        let built = try build("FROM busybox-arm64\nRUN uname -m > /arch && sed 's/^/ARCH /' /arch\n",
                              ["--platform", "linux/arm64"] + isolation)
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(built.result.stderr.contains("ARCH aarch64"), "\(built.result.stderr)")
        let notice = "RUN steps run under QEMU user emulation for linux/arm64 by "
        #expect(built.result.stderr.components(separatedBy: notice).count == 2, "\(built.result.stderr)")
        #expect(built.result.stderr.contains("(binfmt_misc handler qemu-aarch64)"), "\(built.result.stderr)")
        #expect(try file("arch", in: built.layout) == "aarch64\n")
        let run = try #require(try steps(built.metadata)["RUN uname -m > /arch && sed 's/^/ARCH /' /arch"])
        #expect(run["platform"] as? String == "linux/arm64" && run["emulated"] as? Bool == true, "\(run)")
        #expect(run["status"] as? String == "executed")
    }

    @Test("a build for this machine's platform runs natively: no emulation notice, no emulated field, platform linux/amd64",
          .enabled(if: hostMachine == "x86_64", "the test's native platform is amd64"))
    func nativeBuildIsNotEmulated() throws {
        let built = try build("FROM busybox\nRUN uname -m > /arch\n", ["--network", "none"])
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(!built.result.stderr.contains("QEMU"), "\(built.result.stderr)")
        #expect(try file("arch", in: built.layout) == "x86_64\n")
        let run = try #require(try steps(built.metadata)["RUN uname -m > /arch"])
        #expect(run["platform"] as? String == "linux/amd64" && run["emulated"] == nil, "\(run)")
    }

    @Test("a stage FROM --platform=linux/arm64 runs emulated inside an amd64 build; the amd64 stage after it runs natively",
          .enabled(if: hostMachine == "x86_64", "the test's native platform is amd64"))
    func stagePlatformDecides() throws {
        let dockerfile = """
            FROM --platform=linux/arm64 busybox-arm64 AS foreign
            RUN uname -m > /arch
            FROM busybox
            COPY --from=foreign /arch /foreign-arch
            RUN uname -m > /arch
            """
        let built = try build(dockerfile, ["--network", "none"])
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(try file("foreign-arch", in: built.layout) == "aarch64\n")
        #expect(try file("arch", in: built.layout) == "x86_64\n")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: built.metadata)) as? [String: Any]
        let records = try #require(document?["kiln.steps"] as? [[String: Any]])
        let runs = records.filter { ($0["step"] as? [String: Any])?["text"] as? String == "RUN uname -m > /arch" }
        #expect(runs.map { $0["platform"] as? String } == ["linux/arm64", "linux/amd64"], "\(runs)")
        #expect(runs.map { $0["emulated"] as? Bool } == [true, nil], "\(runs)")
        #expect(records.allSatisfy { $0["platform"] is String }, "\(records)")
    }

    @Test("without the handler (an empty binfmt_misc, or none mounted) the build fails at the RUN line, saying what this machine runs and how to add arm64, before any manifest is asked for",
          .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
    func missingHandlerFailsBeforePull() async throws {
        try await withTestRegistry { registry in
            try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", arm64.ociReference,
                                                 "docker://\(registry.host)/base/busybox-arm64:1"])
            let before = registry.requestCount("GET", path: "/manifests/") + registry.requestCount("HEAD", path: "/manifests/")
            for mounted in [true, false] {
                let binfmt = try binfmtWithoutHandlers(mounted: mounted)
                let built = try build("FROM \(registry.host)/base/busybox-arm64:1\nCOPY file /file\nRUN uname -m\n",
                                      ["--platform", "linux/arm64", "--network", "none"],
                                      environment: [Emulation.directoryVariable: binfmt.path])
                let stderr = built.result.stderr
                #expect(built.result.status != 0, "\(stderr)")
                #expect(stderr.contains("\(built.file.path):3:"), "\(stderr)")
                #expect(stderr.contains("RUN uname -m") && stderr.contains("linux/arm64"), "\(stderr)")
                #expect(stderr.contains("apt-get install qemu-user-static"), "\(stderr)")
                #expect(stderr.contains("This machine runs RUN steps for: linux/") && stderr.contains(" (native)"), "\(stderr)")
                #expect(stderr.contains("mount -t binfmt_misc") == !mounted, "\(stderr)")
            }
            let after = registry.requestCount("GET", path: "/manifests/") + registry.requestCount("HEAD", path: "/manifests/")
            #expect(after == before, "\(registry.log())")
            // The same build with this machine's handlers asks for the manifest: the count above can see a pull.
            let pulled = try build("FROM \(registry.host)/base/busybox-arm64:1\nCOPY file /file\nRUN uname -m\n",
                                   ["--platform", "linux/arm64", "--network", "none"])
            #expect(pulled.result.status == 0, "\(pulled.result.stderr)")
            #expect(registry.requestCount("GET", path: "/manifests/") + registry.requestCount("HEAD", path: "/manifests/") > after)
        }
    }

    @Test("a foreign-platform build without RUN needs no emulator")
    func noRunNeedsNoEmulator() throws {
        let built = try build("FROM busybox-arm64\nCOPY file /file\n", ["--platform", "linux/arm64"],
                              environment: [Emulation.directoryVariable: try binfmtWithoutHandlers(mounted: false).path])
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(try file("file", in: built.layout) == "from the context\n")
        let copy = try #require(try steps(built.metadata)["COPY file /file"])
        #expect(copy["platform"] as? String == "linux/arm64" && copy["emulated"] == nil, "\(copy)")
    }
}

/// The machine's architecture as `uname -m` prints it.
private let hostMachine: String = {
    var name = utsname()
    _ = uname(&name)
    return withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}()
