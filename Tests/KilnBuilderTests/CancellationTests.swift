import Foundation
import KilnStorage
import KilnTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM or SIGINT at any stage of a build: while a layer is unpacked, while a RUN runs,
/// while a layer is written and while the image is pushed. The build must end soon (bounded
/// generously here; each test prints how long it took), exit non-zero saying it was cancelled,
/// and leave nothing under its root: no scratch, temp snapshot, ingest file, mount or container.
@Suite("kiln build: a signal stops the build at any stage and cleans up", .serialized)
struct CancellationTests {
    let harness: BuildHarness

    init() throws {
        harness = try BoundsFixtures.harness()
    }

    func start(_ dockerfile: String, _ flags: [String] = [], output: Bool = true) throws -> BackgroundBuild {
        try BackgroundBuild(try BoundsFixtures.arguments(harness, dockerfile, flags, output: output), root: harness.root.url)
    }

    /// Polls `condition` every 5 ms while the build runs; false when the build ended first.
    func poll(_ build: BackgroundBuild, until condition: () -> Bool) -> Bool {
        while build.process.isRunning {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// Signals the build and checks how it ended; `stage` names the stage for the log.
    func interrupt(_ build: BackgroundBuild, with signal: Int32 = SIGTERM, during stage: String) {
        let took = BoundsFixtures.signal(build, signal)
        let (status, output) = build.finish()
        print("\(signal == SIGTERM ? "SIGTERM" : "SIGINT") during \(stage): exited \(status) after \(took.map { "\($0)" } ?? "more than 20 s")")
        #expect(took != nil, "the build did not exit within 20 s of the signal: \(output)")
        #expect(status != 0)
        #expect(output.contains("build cancelled"), "\(output)")
        #expect(BoundsFixtures.leftovers(harness.root).isEmpty, "\(BoundsFixtures.leftovers(harness.root))")
    }

    @Test("SIGTERM while a base layer is unpacked (4 GiB of zeros) stops within the layer and removes the temp snapshot")
    func duringUnpack() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 4096, in: harness.directory)
        // A RUN needs the whole root unpacked (a lone COPY reads the layer without unpacking it).
        let build = try start("FROM bomb\nRUN true\n", bomb.contextFlag + ["--min-free-space", "0"])
        let unpacking = poll(build) {
            guard let temp = BoundsFixtures.temporarySnapshots(harness.root).first else { return false }
            var info = stat()
            // Well into the layer: its one file already holds 64 MiB (a layer snapshot unpacks into fs/).
            return stat(temp.appendingPathComponent("fs/zeros").path, &info) == 0 && info.st_size > 64 << 20
        }
        try #require(unpacking, "the build ended before it unpacked: \(build.finish().1)")
        interrupt(build, during: "unpack")
    }

    @Test("SIGINT while a RUN runs kills its container")
    func duringRun() throws {
        let build = try start("FROM busybox\nRUN echo run-started; sleep 300\n")
        try #require(build.wait(for: " run-started\n"), "\(build.seen)")
        interrupt(build, with: SIGINT, during: "RUN")
    }

    @Test("SIGTERM while a step's layer is written and compressed")
    func duringLayerWrite() throws {
        // 300 MB of random bytes take seconds to compress with parallel gzip.
        let build = try start("FROM busybox\nRUN head -c 300000000 /dev/urandom > /big\n")
        // The layer is written straight into the store's ingest directory (the base's small
        // blobs pass through there too: the layer is the file that grows past 8 MB).
        let ingestDirectory = harness.root.blobs.appendingPathComponent("ingest")
        let writing = poll(build) {
            ((try? FileManager.default.contentsOfDirectory(atPath: ingestDirectory.path)) ?? []).contains { name in
                var info = stat()
                return stat(ingestDirectory.appendingPathComponent(name).path, &info) == 0 && info.st_size > 8 << 20
            }
        }
        try #require(writing, "the build ended before its layer was written: \(build.finish().1)")
        interrupt(build, during: "layer write")
    }

    @Test("SIGTERM while the image is pushed", .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
    func duringPush() async throws {
        try await withTestRegistry { registry in
            // Every request waits 1 s at the proxy: the push is under way for seconds.
            try await withFaultProxy(for: registry, faults: .init(latencyMilliseconds: 1000)) { proxy in
                let build = try start("FROM busybox\nRUN head -c 8000000 /dev/urandom > /big\n",
                                      ["-t", "\(proxy.host)/app:v1", "--push"], output: false)
                let pushing = poll(build) { proxy.requests().contains { $0.hasPrefix("POST /v2/app/blobs/uploads/") } }
                try #require(pushing, "the build ended before it pushed: \(build.finish().1)")
                interrupt(build, during: "push")
            }
        }
    }

    @Test("SIGTERM while a docker-archive is written (its 4 GiB layer decompressed beside it) leaves no archive and no temp file")
    func duringExport() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 4096, in: harness.directory)
        let outputs = harness.directory.appendingPathComponent("archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        let build = try start("FROM bomb\nLABEL exported=yes\n",
                              bomb.contextFlag + ["--min-free-space", "0", "--output", "type=docker,dest=\(outputs.path)/image.tar"],
                              output: false)
        let exporting = poll(build) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []
            return names.contains { name in
                var info = stat()
                return stat(outputs.appendingPathComponent(name).path, &info) == 0 && info.st_size > 64 << 20
            }
        }
        try #require(exporting, "the build ended before it exported: \(build.finish().1)")
        interrupt(build, during: "export")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []
        #expect(left.isEmpty, "the cancelled export left \(left)")
    }

    @Test("kill -9 while a layer is unpacked: the next build removes the temp snapshot")
    func killedDuringUnpack() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 4096, in: harness.directory)
        // A RUN needs the whole root unpacked (a lone COPY reads the layer without unpacking it).
        let build = try start("FROM bomb\nRUN true\n", bomb.contextFlag + ["--min-free-space", "0"])
        let unpacking = poll(build) {
            !BoundsFixtures.temporarySnapshots(harness.root).isEmpty
        }
        try #require(unpacking, "the build ended before it unpacked: \(build.finish().1)")
        kill(build.process.processIdentifier, SIGKILL)
        _ = build.finish()
        #expect(!BoundsFixtures.leftovers(harness.root).isEmpty, "a SIGKILLed unpack leaves its temp snapshot")
        let next = try KilnBinary.run(try BoundsFixtures.arguments(harness, "FROM busybox\nRUN true\n", []),
                                      environment: ["KILN_ROOT": harness.root.url.path])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(BoundsFixtures.leftovers(harness.root).isEmpty, "\(BoundsFixtures.leftovers(harness.root))")
    }
}
