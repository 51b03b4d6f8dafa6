import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// `RUN --mount=type=cache` with BuildKit's options: `uid`/`gid`/`mode` and `from`/`source` for a
/// new cache, `ro`, `sharing=shared|private|locked` across concurrent builds, and the caches in
/// `kiln cache du` and `kiln cache prune`.
@Suite("kiln build: cache mounts", .serialized)
struct CacheMountTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    func arguments(_ dockerfile: String) throws -> [String] {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        return ["build", "--progress", "plain", "--no-cache", "-f", file.path, "--build-context", contextFlag,
                "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)",
                harness.context.path]
    }

    func build(_ dockerfile: String) throws -> KilnBinary.Result {
        try KilnBinary.run(try arguments(dockerfile), environment: ["KILN_ROOT": harness.root.url.path])
    }

    /// The host directory of cache `id`.
    func directory(of id: String) -> URL {
        harness.root.url.appendingPathComponent("cache-mounts/\(Digest.sha256(of: Data(id.utf8)).encoded)")
    }

    @Test("a new cache gets uid, gid and mode; from/source seed it with a stage's files; ro mounts it read-only; it lasts across builds")
    func creationOptions() throws {
        let first = try build("""
            FROM busybox AS seed
            RUN mkdir -p /s/sub && echo seeded > /s/sub/f && chmod 700 /s/sub
            FROM busybox
            RUN --mount=type=cache,target=/c,uid=1000,gid=1001,mode=0750 stat -c 'owner=%u:%g:%a' /c && echo kept > /c/one
            RUN --mount=type=cache,target=/d,id=seeded,from=seed,source=/s stat -c 'sub=%a' /d/sub && sed 's/^/file=/' /d/sub/f
            RUN --mount=type=cache,target=/c,ro sed 's/^/ro-read=/' /c/one && ! touch /c/two && echo ro-refused
            """)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("owner=1000:1001:750"), "\(first.stderr)")
        #expect(first.stderr.contains("sub=700"), "\(first.stderr)")
        #expect(first.stderr.contains("file=seeded"), "\(first.stderr)")
        #expect(first.stderr.contains("ro-read=kept"), "\(first.stderr)")
        #expect(first.stderr.contains("ro-refused"), "\(first.stderr)")
        // Nothing of the caches reached the image.
        let second = try build("FROM busybox\nRUN --mount=type=cache,target=/c sed 's/^/again=/' /c/one && ! test -e /one\n")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("again=kept"), "\(second.stderr)")
    }

    @Test("from= an image seeds a new cache with that directory of the image")
    func seedFromImage() throws {
        let result = try build("""
            FROM busybox
            RUN --mount=type=cache,target=/i,id=from-image-\(UUID().uuidString),from=busybox,source=/etc sed 's/^/image=/' /i/group | head -1
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("image=root:x:0:"), "\(result.stderr)")
    }

    @Test("a cache source that is no directory of the stage fails naming it")
    func badSource() throws {
        let result = try build("FROM busybox AS seed\nRUN echo x > /file\nFROM busybox\nRUN --mount=type=cache,target=/c,from=seed,source=/file true\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("cache mount source /file is not a directory"), "\(result.stderr)")
        #expect(result.stderr.contains(":4"), "\(result.stderr)")
    }

    /// Build A holds cache `id` until the test creates `release` in it (or a minute passed),
    /// then writes `a-done`; build B, started while A holds it, lists the cache. Returns B's
    /// listing. `bFirst`: wait for B to end before releasing A (for sharing modes where B must
    /// not wait: were it made to, A lets go after its minute and B sees `a-done`). Otherwise A
    /// is released once B's step started and had 3 s to reach its mount.
    func contend(sharing: String, bFirst: Bool) throws -> (listing: String, aStatus: Int32, bStatus: Int32) {
        let id = "contended-\(sharing)-\(UUID().uuidString)"
        let a = try BackgroundBuild(try arguments("""
            FROM busybox
            RUN --mount=type=cache,target=/c,id=\(id),sharing=\(sharing) touch /c/a-in && echo A-holding && \\
                i=0; while [ ! -e /c/release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; touch /c/a-done
            """), root: harness.root.url)
        #expect(a.wait(for: "A-holding"), "\(a.seen)")
        let b = try BackgroundBuild(try arguments("""
            FROM busybox
            RUN --mount=type=cache,target=/c,id=\(id),sharing=\(sharing) echo B-listing $(ls /c | tr '\\n' ' ') B-end
            """), root: harness.root.url)
        #expect(b.wait(for: "RUN --mount"), "\(b.seen)")
        var bEnd: (Int32, String)?
        if bFirst {
            bEnd = b.finish()
        } else {
            // B's step has started; give it time to reach its mount before A lets go.
            Thread.sleep(forTimeInterval: 3)
        }
        try Data().write(to: directory(of: id).appendingPathComponent("release"))
        let (aStatus, aText) = a.finish()
        let (bStatus, bText) = bEnd ?? b.finish()
        #expect(aStatus == 0, "\(aText)")
        let listing = bText.split(separator: "\n").first { $0.contains("B-listing") && $0.contains("B-end") && !$0.contains("RUN") }
        return (listing.map(String.init) ?? "(no listing)\n\(bText)", aStatus, bStatus)
    }

    @Test("sharing=locked: a second build waits until the first step released the cache")
    func locked() throws {
        let (listing, _, bStatus) = try contend(sharing: "locked", bFirst: false)
        #expect(bStatus == 0)
        #expect(listing.contains("a-done"), "B ran while A held the cache: \(listing)")
    }

    @Test("sharing=shared: both use the cache at once (so the locked test can tell the difference)")
    func shared() throws {
        let (listing, _, bStatus) = try contend(sharing: "shared", bFirst: true)
        #expect(bStatus == 0)
        #expect(listing.contains("a-in") && !listing.contains("a-done"), "B did not run beside A: \(listing)")
    }

    @Test("sharing=private: a build that finds the cache in use gets a fresh one, thrown away after")
    func privateCopy() throws {
        let (listing, _, bStatus) = try contend(sharing: "private", bFirst: true)
        #expect(bStatus == 0)
        #expect(!listing.contains("a-in"), "B saw A's cache: \(listing)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("kiln cache du lists each cache id with its size; kiln cache prune removes the unused ones")
    func duAndPrune() throws {
        let result = try build("FROM busybox\nRUN --mount=type=cache,target=/m2,id=maven head -c 200000 /dev/zero > /m2/blob\n")
        #expect(result.status == 0, "\(result.stderr)")
        let environment = ["KILN_ROOT": harness.root.url.path]
        let du = try KilnBinary.run(["cache", "du"], environment: environment)
        #expect(du.status == 0, "\(du.stderr)")
        let line = du.stdout.split(separator: "\n").first { $0.hasSuffix("id=maven") }
        #expect(line?.contains("KB") == true, "\(du.stdout)")
        let kept = try KilnBinary.run(["cache", "prune", "--keep-duration", "1h"], environment: environment)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory(of: "maven").path))
        let prune = try KilnBinary.run(["cache", "prune"], environment: environment)
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.stdout.contains("1 cache mounts"), "\(prune.stdout)")
        #expect(!FileManager.default.fileExists(atPath: directory(of: "maven").path))
        let after = try KilnBinary.run(["cache", "du"], environment: environment)
        #expect(!after.stdout.contains("id=maven"), "\(after.stdout)")
    }
}
