import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// Cache mounts that follow the registry cache: exported after a build, imported by a build
/// on another machine (its own `$KILN_ROOT`) before the first RUN that mounts the id, with
/// files, modes, owners, links and mtimes exact; only what changed travels; a build reads
/// only the caches it is told to read and writes only the one it may write.
@Suite("kiln build: cache mounts exported to and imported from a registry cache", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct CacheMountExportTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// A machine: a Kiln root of its own.
    func machine(_ name: String) -> String {
        harness.directory.appendingPathComponent("root-\(name)").path
    }

    /// Builds `dockerfile` on `machine` with `flags`; returns the result.
    func build(_ dockerfile: String, on machine: String, _ flags: [String]) throws -> KilnBinary.Result {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        return try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path,
             "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
             "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)"]
                + flags + [harness.context.path],
            environment: ["KILN_ROOT": machine])
    }

    /// The lines a RUN printed with `prefix`, prefix removed, in order.
    static func lines(_ stderr: String, _ prefix: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line in
            line.range(of: prefix).map { String(line[$0.upperBound...]) }
        }
    }

    /// A RUN that lists cache `/c` exactly: path, type, mode, owner, size, mtime (nanoseconds), content digest.
    static let listing = #"cd /c && find . | sort | while read p; do echo "LI""ST $p $(stat -c '%F %a %u:%g %s %y' "$p") $(test -f "$p" && md5sum < "$p" | cut -c1-8)"; done"#

    /// The blob digests `registry` served with GET or accepted with PUT, from its access log.
    static func blobRequests(_ registry: TestRegistry, _ method: String) -> [String] {
        registry.log().split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "\"\(method) "), line.contains("\" 20") else { return nil }
            let target = line[start.upperBound...].prefix { $0 != " " }
            if method == "PUT" {
                guard target.contains("/blobs/uploads/"), let digest = target.range(of: "digest=") else { return nil }
                return String(target[digest.upperBound...].prefix { $0 != "&" }).removingPercentEncoding
            }
            guard let blobs = target.range(of: "/blobs/sha256:") else { return nil }
            return "sha256:" + target[blobs.upperBound...].prefix { $0 != "?" }
        }
    }

    @Test("a new machine starts with the cache exactly as the last build left it; only what changed is uploaded and downloaded")
    func roundTrip() async throws {
        try await withTestRegistry { registry in
            let cache = ["--cache-repo", "\(registry.host)/ci/cache"]
            let fill = """
                FROM busybox
                RUN --mount=type=cache,target=/c,id=deps,uid=0,gid=0 mkdir -p /c/repo/sub && echo jar-one > /c/repo/one.jar && \\
                    head -c 300000 /dev/urandom > /c/repo/sub/big.bin && sha256sum /c/repo/sub/big.bin | sed 's/^/BI''G /' && chmod 640 /c/repo/one.jar && chown 1000:1001 /c/repo/sub/big.bin && \\
                    ln -s one.jar /c/repo/latest && touch /c/empty && touch -d '2021-02-03 04:05:06' /c/repo/one.jar && \\
                    chmod 2750 /c/repo/sub && \(Self.listing)
                """
            let a = machine("a")
            let first = try build(fill, on: a, cache)
            #expect(first.status == 0, "\(first.stderr)")
            let made = Self.lines(first.stderr, "LIST ")
            let big = "sha256:" + (Self.lines(first.stderr, "BIG ").first?.prefix(64) ?? "")
            #expect(made.count == 7, "\(made)")
            #expect(first.stderr.contains("cache mount deps: exported generation 1"), "\(first.stderr)")

            // Machine B: a source edit (an ARG) re-runs the step; it sees A's cache, exactly.
            let b = machine("b")
            let read = "FROM busybox\nARG EDIT\nRUN --mount=type=cache,target=/c,id=deps echo $EDIT && \(Self.listing)\n"
            let onB = try build(read, on: b, cache + ["--build-arg", "EDIT=1"])
            #expect(onB.status == 0, "\(onB.stderr)")
            #expect(Self.lines(onB.stderr, "LIST ") == made, "\(onB.stderr)")
            #expect(onB.stderr.contains("cache mount deps: imported generation 1"), "\(onB.stderr)")
            // Unchanged on B: nothing new exported.
            #expect(!onB.stderr.contains("exported generation 2"), "\(onB.stderr)")

            // A adds one file: one file blob (plus the index) is uploaded, not the 300 kB one again.
            let putsBefore = Self.blobRequests(registry, "PUT").count
            let add = "FROM busybox\nRUN --mount=type=cache,target=/c,id=deps echo jar-two > /c/repo/two.jar\n"
            let added = try build(add, on: a, cache)
            #expect(added.status == 0, "\(added.stderr)")
            #expect(added.stderr.contains("cache mount deps: exported generation 2"), "\(added.stderr)")
            let uploads = Array(Self.blobRequests(registry, "PUT").dropFirst(putsBefore))
            // The third is the layer cache's record of the step.
            #expect(uploads.count == 3 && uploads.contains(Digest.sha256(of: Data("jar-two\n".utf8)).description) && !uploads.contains(big),
                    "the new file and the index only: \(uploads)")

            // B imports only the new blobs: the new file and the index.
            let getsBefore = Self.blobRequests(registry, "GET").count
            let again = try build(read, on: b, cache + ["--build-arg", "EDIT=2"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("imported generation 2"), "\(again.stderr)")
            #expect(Self.lines(again.stderr, "LIST ").contains { $0.hasPrefix("./repo/two.jar ") }, "\(again.stderr)")
            let downloads = Array(Self.blobRequests(registry, "GET").dropFirst(getsBefore))
            #expect(downloads.count == 2, "the new file and the index only: \(downloads)")
        }
    }

    @Test("a pull-request build (--cache-from main --cache-to pr) never puts a file into what a release build (--cache-repo main) gets, on a new machine or the same one")
    func trustScopes() async throws {
        try await withTestRegistry { registry in
            let main = "\(registry.host)/ci/main"
            let pr = "\(registry.host)/ci/pr"
            let write = "FROM busybox\nARG WHAT\nRUN --mount=type=cache,target=/c,id=m2 echo $WHAT > /c/$WHAT.jar\n"
            let release = machine("release")
            let seeded = try build(write, on: release, ["--cache-repo", main, "--build-arg", "WHAT=good"])
            #expect(seeded.status == 0, "\(seeded.stderr)")

            // The PR build on the release machine itself and on one of its own: it reads main, writes pr.
            for name in ["release", "pr"] {
                let poisoned = try build(write, on: machine(name), ["--cache-from", main, "--cache-to", pr, "--build-arg", "WHAT=poison"])
                #expect(poisoned.status == 0, "\(poisoned.stderr)")
                #expect(poisoned.stderr.contains("exported generation"), "\(poisoned.stderr)")
            }
            let check = "FROM busybox\nARG N\nRUN --mount=type=cache,target=/c,id=m2 echo $N && ls /c | sed 's/^/HA''S /'\n"
            for name in ["release", "fresh"] {
                let result = try build(check, on: machine(name), ["--cache-repo", main, "--build-arg", "N=\(UUID().uuidString)"])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(Self.lines(result.stderr, "HAS ") == ["good.jar"], "\(name): \(result.stderr)")
            }
            // The PR's own cache has both: it was seeded from main.
            let prView = try build(check, on: machine("pr2"), ["--cache-from", pr, "--build-arg", "N=x"])
            #expect(Self.lines(prView.stderr, "HAS ").sorted() == ["good.jar", "poison.jar"], "\(prView.stderr)")
        }
    }

    @Test("--remote-cache-mounts none keeps cache mounts on the machine; an unreachable cache is one warning, not a failed build")
    func optOutAndFailures() async throws {
        try await withTestRegistry { registry in
            let dockerfile = "FROM busybox\nRUN --mount=type=cache,target=/c,id=local-only echo x > /c/x\n"
            let result = try build(dockerfile, on: machine("a"), ["--cache-repo", "\(registry.host)/ci/cache", "--remote-cache-mounts", "none"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("cache mount local-only: exported"), "\(result.stderr)")
            #expect(registry.requestCount("PUT", path: "/manifests/kiln-mount-") == 0)

            let chosen = try build(dockerfile.replacingOccurrences(of: "echo x", with: "echo y"), on: machine("a"),
                                   ["--cache-repo", "\(registry.host)/ci/cache", "--remote-cache-mounts", "other,local-only"])
            #expect(chosen.stderr.contains("cache mount local-only: exported generation 1"), "\(chosen.stderr)")
        }
        let port = try TestRegistry.freePort()
        let unreachable = try build("FROM busybox\nRUN --mount=type=cache,target=/c,id=u echo ok > /c/ok\n", on: machine("b"),
                                    ["--cache-repo", "127.0.0.1:\(port)/ci/cache", "--cache-timeout", "2s"])
        #expect(unreachable.status == 0, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cache mount u: not imported from"), "\(unreachable.stderr)")
    }

    @Test("--cache-mount-max-size keeps an id within its cap: the least recently used files go after the build")
    func sizeCap() throws {
        let write = """
            FROM busybox
            RUN --mount=type=cache,target=/c,id=capped for f in a b c d; do head -c 60000 /dev/urandom > /c/$f; done; \\
                touch -d '2020-01-01' /c/a /c/b; touch -d '2030-01-01' /c/c /c/d
            """
        let root = machine("capped")
        let result = try build(write, on: root, ["--cache-mount-max-size", "130K"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("cache mount capped: 2 least recently used files"), "\(result.stderr)")
        let list = try build("FROM busybox\nARG N\nRUN --mount=type=cache,target=/c,id=capped echo $N; ls /c | sed 's/^/HA''S /'\n",
                             on: root, ["--build-arg", "N=\(UUID().uuidString)"])
        #expect(Self.lines(list.stderr, "HAS ") == ["c", "d"], "\(list.stderr)")
    }
}
