import Foundation
import KilnStorage
import KilnTestSupport
import Testing

/// The disk reserve: a build stops before free space or free inodes under its root fall below
/// it, says what it was writing, what is left and how to change the reserve, and leaves
/// nothing behind. Each test's root is a small tmpfs, so the bombs fill that and never the
/// host's disk, and a missing reserve would show as ENOSPC instead of the reserve's error.
@Suite("kiln build: the disk reserve bounds what a build writes", .serialized)
struct DiskReserveTests {
    let harness: BuildHarness

    init() throws {
        harness = try BoundsFixtures.harness()
    }

    func build(_ dockerfile: String, root: URL, flags: [String], environment: [String: String] = [:]) throws -> KilnBinary.Result {
        try KilnBinary.run(try BoundsFixtures.arguments(harness, dockerfile, flags),
                           environment: environment.merging(["KILN_ROOT": root.path]) { $1 })
    }

    @Test("a gzip bomb of bytes stops at --min-free-space, names the layer, and leaves nothing")
    func bombOfBytes() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 512, in: harness.directory)
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("small-root"), options: "size=192m")
        // A RUN needs the whole root unpacked (a lone COPY would read the layer without unpacking it).
        let result = try build("FROM bomb\nRUN true\n", root: tmpfs.path, flags: bomb.contextFlag + ["--min-free-space", "96M"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("stopped unpacking layer \(bomb.layer)"), "\(result.stderr)")
        #expect(result.stderr.contains("below the reserve of 96.0 MiB"), "\(result.stderr)")
        #expect(result.stderr.contains("--min-free-space"), "\(result.stderr)")
        #expect(!result.stderr.contains("No space left"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
        // The unpacked part is gone too: what is left is the 2 MiB blob and small files.
        #expect(tmpfs.usedBytes < 16 << 20, "\(tmpfs.usedBytes) bytes still used")
    }

    @Test("a COPY on a gzip bomb base reads the layer without unpacking it: the build succeeds on a root smaller than the layer")
    func copyOnABombReadsWithoutUnpacking() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 512, in: harness.directory)
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("copy-root"), options: "size=192m")
        let result = try build("FROM bomb\nCOPY hello /hello\n", root: tmpfs.path, flags: bomb.contextFlag + ["--min-free-space", "96M"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
        #expect(tmpfs.usedBytes < 32 << 20, "\(tmpfs.usedBytes) bytes used")
    }

    @Test("a bomb of empty files stops at KILN_MIN_FREE_INODES and leaves nothing")
    func bombOfInodes() throws {
        let bomb = try BoundsFixtures.bomb("files", 20_000, in: harness.directory)
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("few-inodes"), options: "size=256m,nr_inodes=4000")
        let result = try build("FROM bomb\nRUN true\n", root: tmpfs.path, flags: bomb.contextFlag,
                               environment: ["KILN_MIN_FREE_INODES": "1500"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("stopped unpacking layer \(bomb.layer)"), "\(result.stderr)")
        #expect(result.stderr.contains("free inodes, below the reserve of 1500"), "\(result.stderr)")
        #expect(result.stderr.contains("KILN_MIN_FREE_INODES"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
    }

    @Test("an ADD of an archive that expands past the reserve is stopped, naming the step")
    func addOfABomb() throws {
        let bomb = try BoundsFixtures.bomb("bytes", 512, in: harness.directory)
        let blob = bomb.layout.appendingPathComponent("blobs/sha256/\(bomb.layer.dropFirst("sha256:".count))")
        try FileManager.default.copyItem(at: blob, to: harness.context.appendingPathComponent("bomb.tar.gz"))
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("add-root"), options: "size=192m")
        let result = try build("FROM busybox\nADD bomb.tar.gz /unpacked/\n", root: tmpfs.path, flags: ["--min-free-space", "96M"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(":2"), "\(result.stderr)")
        #expect(result.stderr.contains("stopped copying files"), "\(result.stderr)")
        #expect(result.stderr.contains("below the reserve of 96.0 MiB"), "\(result.stderr)")
        #expect(!result.stderr.contains("No space left"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
        #expect(tmpfs.usedBytes < 16 << 20, "\(tmpfs.usedBytes) bytes still used")
    }

    @Test("a layer blob whose ingest would cross the reserve is stopped, and no ingest file is left")
    func ingestPastTheReserve() throws {
        // 24 MiB of random bytes: a blob larger than the gate's 8 MiB between checks.
        let bomb = try BoundsFixtures.bomb("random", 24, in: harness.directory)
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("ingest-root"), options: "size=96m")
        let headroom = 2 << 20
        let free = try DiskReserve.none.state(of: tmpfs.path.path).freeBytes
        let result = try build("FROM bomb\nCOPY hello /hello\n", root: tmpfs.path,
                               flags: bomb.contextFlag + ["--min-free-space", "\(Int(free) - headroom)"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("stopped writing blob \(bomb.layer)"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
    }

    @Test("a step's layer that would cross the reserve is stopped while it is written")
    func layerWritePastTheReserve() throws {
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("layer-root"), options: "size=256m")
        // 64 MB of random bytes: the RUN leaves ~190 MiB free, above the reserve; the layer
        // (as large again, random bytes do not compress) takes it below.
        let result = try build("FROM busybox\nRUN head -c 64000000 /dev/urandom > /random\n", root: tmpfs.path,
                               flags: ["--min-free-space", "160M"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("stopped writing the step's layer"), "\(result.stderr)")
        #expect(result.stderr.contains("below the reserve of 160.0 MiB"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
        #expect(tmpfs.usedBytes < 16 << 20, "\(tmpfs.usedBytes) bytes still used")
    }

    @Test("a RUN that writes past the reserve is stopped, and the error names the step and the reserve")
    func runPastTheReserve() throws {
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("run-root"), options: "size=256m")
        // Never ends by itself: only the reserve can stop it (a steady 1 MiB at a time, so the
        // watcher sees the reserve crossed long before the tmpfs is full).
        let started = ContinuousClock.now
        let result = try build("FROM busybox\nRUN while true; do head -c 1048576 /dev/zero >> /big; sleep 0.005; done\n",
                               root: tmpfs.path, flags: ["--min-free-space", "128M"])
        print("RUN past the reserve: stopped after \(ContinuousClock.now - started)")
        #expect(result.status != 0)
        #expect(result.stderr.contains(":2"), "\(result.stderr)")
        #expect(result.stderr.contains("stopped running the step"), "\(result.stderr)")
        #expect(result.stderr.contains("below the reserve of 128.0 MiB"), "\(result.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
        #expect(tmpfs.usedBytes < 32 << 20, "\(tmpfs.usedBytes) bytes still used")
    }

    @Test("the same build passes with the reserve off, and a bad value is refused up front")
    func settings() throws {
        let tmpfs = try BoundsFixtures.Tmpfs(at: harness.directory.appendingPathComponent("ok-root"), options: "size=64m")
        let fine = try build("FROM busybox\nRUN head -c 1048576 /dev/zero > /one\n", root: tmpfs.path, flags: ["--min-free-space", "0"],
                             environment: ["KILN_MIN_FREE_SPACE": "99%"])
        #expect(fine.status == 0, "\(fine.stderr)")
        let refused = try build("FROM busybox\n", root: tmpfs.path, flags: ["--min-free-space", "lots"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--min-free-space=lots"), "\(refused.stderr)")
        let badEnvironment = try build("FROM busybox\n", root: tmpfs.path, flags: [], environment: ["KILN_MIN_FREE_INODES": "1G"])
        #expect(badEnvironment.status != 0)
        #expect(badEnvironment.stderr.contains("KILN_MIN_FREE_INODES=1G"), "\(badEnvironment.stderr)")
        // The environment alone is enough to stop a build.
        let stopped = try build("FROM busybox\nRUN head -c 1048576 /dev/zero > /two\n", root: tmpfs.path, flags: [],
                                environment: ["KILN_MIN_FREE_SPACE": "99%"])
        #expect(stopped.status != 0)
        #expect(stopped.stderr.contains("KILN_MIN_FREE_SPACE"), "\(stopped.stderr)")
        #expect(BoundsFixtures.leftovers(KilnRoot(url: tmpfs.path)).isEmpty)
    }
}

/// The reserve's own arithmetic and parsing.
@Suite struct DiskReserveUnitTests {
    @Test func parsesEveryForm() throws {
        #expect(DiskReserve.Amount(parsing: "0", allowsSizeSuffix: true) == .absolute(0))
        #expect(DiskReserve.Amount(parsing: "512M", allowsSizeSuffix: true) == .absolute(512 << 20))
        #expect(DiskReserve.Amount(parsing: "2g", allowsSizeSuffix: true) == .absolute(2 << 30))
        #expect(DiskReserve.Amount(parsing: "1GiB", allowsSizeSuffix: true) == .absolute(1 << 30))
        #expect(DiskReserve.Amount(parsing: "5%", allowsSizeSuffix: false) == .percent(5))
        #expect(DiskReserve.Amount(parsing: "1G", allowsSizeSuffix: false) == nil)
        #expect(DiskReserve.Amount(parsing: "150%", allowsSizeSuffix: true) == nil)
        #expect(DiskReserve.Amount(parsing: "-1", allowsSizeSuffix: true) == nil)
        let reserve = try DiskReserve.fromEnvironment(["KILN_MIN_FREE_SPACE": "3G", "KILN_MIN_FREE_INODES": "10%"])
        #expect(reserve == DiskReserve(space: .absolute(3 << 30), inodes: .percent(10)))
        #expect(try DiskReserve.fromEnvironment([:]) == .default)
    }

    @Test func defaultIsTheSmallerOfAnAmountAndAShare() {
        #expect(DiskReserve.default.space.resolved(total: 100 << 30) == 1 << 30)
        #expect(DiskReserve.default.space.resolved(total: 1 << 30) == (1 << 30) / 20)
        #expect(DiskReserve.default.inodes.resolved(total: 10_000_000) == 50_000)
        #expect(DiskReserve.default.inodes.resolved(total: 4000) == 200)
    }

    @Test func checkThrowsOnlyBelowTheReserve() throws {
        let path = FileManager.default.temporaryDirectory.path
        try DiskReserve.none.check(path, writing: "nothing")
        let state = try DiskReserve.none.state(of: path)
        let tooMuch = DiskReserve(space: .absolute(state.freeBytes + (1 << 30)), inodes: .absolute(0))
        #expect(throws: StorageError.self) { try tooMuch.check(path, writing: "a test") }
        do {
            try tooMuch.check(path, writing: "a test")
        } catch {
            #expect("\(error)".contains("stopped a test"))
            #expect("\(error)".contains("--min-free-space or KILN_MIN_FREE_SPACE"))
        }
    }
}
