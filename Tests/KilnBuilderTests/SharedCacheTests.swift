import Foundation
import KilnStorage
import KilnTestSupport
import Testing

/// Issue 6's proofs: `kiln build` with a registry cache, against a real docker-registry, with
/// real runc, each "machine" a fresh `$KILN_ROOT`.
@Suite("shared layer cache (kiln build --cache-repo)", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct SharedCacheTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// A new machine: an empty Kiln root of its own.
    func freshRoot(_ name: String) -> String {
        harness.directory.appendingPathComponent("root-\(name)").path
    }

    /// Pushes the busybox base to `registry` and returns how a Dockerfile names it.
    func pushBase(to registry: TestRegistry) throws -> String {
        _ = try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", harness.base.ociReference,
                                                 "docker://\(registry.host)/base/busybox:1"])
        return "\(registry.host)/base/busybox:1"
    }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: harness.context.appendingPathComponent(name))
    }

    /// Runs `kiln build` in `root`; returns the metadata file and standard error.
    func build(root: String, _ flags: [String], dockerfile: String = "Dockerfile",
               file: StaticString = #filePath, line: UInt = #line) throws -> (metadata: BuildOutcome, stderr: String) {
        let metadata = harness.directory.appendingPathComponent("metadata-\(UUID().uuidString).json")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--metadata-file", metadata.path,
             "-f", harness.context.appendingPathComponent(dockerfile).path] + flags + [harness.context.path],
            environment: ["KILN_ROOT": root], currentDirectory: harness.directory)
        #expect(result.status == 0, "\(result.stderr)")
        return (try BuildOutcome(metadata), result.stderr)
    }

    /// The digests of blobs `registry` served with GET, in log order.
    static func blobGETs(_ registry: TestRegistry) -> [String] {
        registry.log().split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "\"GET ") else { return nil }
            let target = line[start.upperBound...].prefix { $0 != " " }
            guard let blobs = target.range(of: "/blobs/") else { return nil }
            return String(target[blobs.upperBound...].prefix { $0 != "?" })
        }
    }

    @Test("(1) a new machine rebuilds from the registry cache: no RUN, no layer blob downloaded, same digest, push by mount")
    func newMachineRebuild() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\nCOPY app.txt /app.txt\nRUN cat /app.txt /one > /both\nCMD [\"cat\", \"/both\"]\n",
                      to: "Dockerfile")
            try write("app\n", to: "app.txt")
            let cache = ["--cache-repo", "\(registry.host)/cache/app"]
            let cold = try build(root: freshRoot("a"), cache + ["-t", "\(registry.host)/app/one:v1", "--push"])
            #expect(cold.metadata.statuses == ["executed", "executed", "executed", "metadata"])

            let before = Self.blobGETs(registry).count
            let mountsBefore = registry.requestCount("POST", path: "mount=")
            let warm = try build(root: freshRoot("b"), cache + ["-t", "\(registry.host)/app/two:v1", "--push"])
            #expect(warm.metadata.statuses == ["cached", "cached", "cached", "metadata"])
            #expect(warm.metadata.imageDigest == cold.metadata.imageDigest)
            // The only blob a fully cached build reads is the base image's config (the build
            // replays its config); no layer: the push to app/two mounts them all.
            let fetched = Array(Self.blobGETs(registry).dropFirst(before))
            let baseConfig = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(base)"]).stdout
            let configDigest = try #require(try JSONSerialization.jsonObject(with: Data(baseConfig.utf8)) as? [String: Any])
            let config = (configDigest["config"] as? [String: Any])?["digest"] as? String
            #expect(Set(fetched).isSubset(of: [config].compactMap { $0 }), "blob GETs: \(fetched)")
            // Every layer (base and cached) was mounted into app/two, none uploaded.
            #expect(registry.requestCount("POST", path: "mount=") - mountsBefore >= 4)
            let inspect = try ProcessRunner.checked("skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/app/two:v1"])
            #expect(inspect.stdout.contains(cold.metadata.imageDigest))
            // The pushed image is whole: skopeo copies every blob out of it.
            _ = try ProcessRunner.checked("skopeo", ["copy", "--src-tls-verify=false", "docker://\(registry.host)/app/two:v1",
                                                     "oci:\(harness.directory.path)/copied:latest"])
        }
    }

    @Test("(2) changing one file copied late re-runs only the steps from that COPY; the hits before it are fetched for the miss")
    func lateCopyChange() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\nCOPY early.txt /early\nRUN cat /early > /early2\nCOPY late.txt /late\n"
                      + "RUN cat /late /early2 > /both\n", to: "Dockerfile")
            try write("early\n", to: "early.txt")
            try write("late v1\n", to: "late.txt")
            let cache = ["--cache-repo", "\(registry.host)/cache/app"]
            let layout = harness.directory.appendingPathComponent("out")
            _ = try build(root: freshRoot("a"), cache)
            try write("late v2\n", to: "late.txt")
            let second = try build(root: freshRoot("b"), cache + ["--explain-cache", "--output", "type=oci,dest=\(layout.path),name=latest"])
            #expect(second.metadata.statuses == ["cached", "cached", "cached", "executed", "executed"])
            let explain = second.metadata.steps[3]["explain"] as? String ?? ""
            #expect(explain.contains("file ") && explain.contains(" changed") && !explain.contains("copied files changed"), "\(explain)")
            #expect(second.stderr.contains("#5 cache miss: "), "\(second.stderr)")
            #expect(second.metadata.steps[3]["cache"] as? String == "miss")
            // The last RUN read files of the cached steps: they were fetched and are right.
            let unpacked = harness.directory.appendingPathComponent("bundle")
            _ = try ProcessRunner.checked("umoci", ["raw", "unpack", "--rootless", "--image", "\(layout.path):latest", unpacked.path])
            #expect(try String(contentsOf: unpacked.appendingPathComponent("both"), encoding: .utf8) == "late v2\nearly\n")
        }
    }

    @Test("(3) a second service whose Dockerfile shares the first steps hits the first one's entries")
    func sharedPrefix() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo shared > /shared\nRUN echo service-a > /name\n", to: "A.Dockerfile")
            try write("FROM \(base)\nRUN echo shared > /shared\nRUN echo service-b > /name\n", to: "B.Dockerfile")
            let cache = ["--cache-repo", "\(registry.host)/cache/team"]
            let first = try build(root: freshRoot("a"), cache, dockerfile: "A.Dockerfile")
            #expect(first.metadata.statuses == ["executed", "executed"])
            let second = try build(root: freshRoot("b"), cache, dockerfile: "B.Dockerfile")
            #expect(second.metadata.statuses == ["cached", "executed"])
        }
    }

    /// `One.Dockerfile` and `Two.Dockerfile` on the pushed base: the same first step, which is
    /// not reproducible (every machine that runs it makes a variant of its own), then a COPY of
    /// `one.txt` or `two.txt`.
    func writeTwoServicesSharingAnUnreproducibleStep(_ registry: TestRegistry) throws {
        let base = try pushBase(to: registry)
        for name in ["one", "two"] {
            try write("FROM \(base)\nRUN head -c 16 /dev/urandom > /shared-step\nCOPY \(name).txt /file\n",
                      to: name.prefix(1).uppercased() + name.dropFirst() + ".Dockerfile")
            try write("\(name)\n", to: "\(name).txt")
        }
    }

    @Test("a machine with its own variant of a shared step still hits what another machine built on that step's other variant")
    func ownVariantDoesNotHideTheFleets() async throws {
        try await withTestRegistry { registry in
            try writeTwoServicesSharingAnUnreproducibleStep(registry)
            let cache = ["--cache-repo", "\(registry.host)/cache/fleet"]
            let machineA = freshRoot("variant-a"), machineB = freshRoot("variant-b")
            #expect(try build(root: machineA, cache, dockerfile: "One.Dockerfile").metadata.statuses == ["executed", "executed"])
            // B runs the shared step itself, before it uses the fleet's cache: its own variant, local only.
            #expect(try build(root: machineB, [], dockerfile: "Two.Dockerfile").metadata.statuses == ["executed", "executed"])
            // A's chain is in the registry: both of its steps are hits on B, as on an empty machine.
            let onB = try build(root: machineB, cache, dockerfile: "One.Dockerfile")
            #expect(onB.metadata.statuses == ["cached", "cached"], "\(onB.stderr)")
        }
    }

    @Test("a chain whose first variant a concurrent writer dropped from the key's list still hits end to end")
    func variantLostFromTheListStillHits() async throws {
        try await withTestRegistry { registry in
            try writeTwoServicesSharingAnUnreproducibleStep(registry)
            let repo = "\(registry.host)/cache/lost"
            let cache = ["--cache-repo", repo]
            // Machine A builds service one: its variant of the shared step, and its COPY on it.
            let one = try build(root: freshRoot("lost-a"), cache, dockerfile: "One.Dockerfile")
            #expect(one.metadata.statuses == ["executed", "executed"])
            // Machine B ran the shared step itself (its own variant) and shares it with the fleet.
            let machineB = freshRoot("lost-b")
            _ = try build(root: machineB, [], dockerfile: "Two.Dockerfile")
            let two = try build(root: machineB, cache, dockerfile: "Two.Dockerfile")
            #expect(two.metadata.statuses == ["cached", "cached"])
            // The race of the two stores: B read the shared step's list before A wrote it, and
            // wrote it back with its own variant only. Each variant's own tag is still there.
            let sharedKey = try #require((one.metadata.steps[0]["cacheKey"] as? String)?.split(separator: ":").last)
            let bLayer = try #require(two.metadata.steps[0]["layer"] as? String)
            let tags = try ProcessRunner.checked("skopeo", ["list-tags", "--tls-verify=false", "docker://\(repo)"]).stdout
            let variantTags = tags.split(whereSeparator: { !"0123456789abcdefkiln-".contains($0) })
                .map(String.init).filter { $0.hasPrefix("kiln-\(sharedKey.prefix(32))-") }
            #expect(variantTags.count == 2, "\(tags)")
            let bTag = try #require(try variantTags.first { tag in
                try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(repo):\(tag)"]).stdout.contains(bLayer)
            })
            _ = try ProcessRunner.checked("skopeo", ["copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                                                     "docker://\(repo):\(bTag)", "docker://\(repo):kiln-\(sharedKey)"])
            // A new machine builds service one: A's chain, whole, not B's variant and a re-run COPY.
            let again = try build(root: freshRoot("lost-c"), cache, dockerfile: "One.Dockerfile")
            #expect(again.metadata.statuses == ["cached", "cached"], "\(again.stderr)")
            #expect(again.metadata.imageDigest == one.metadata.imageDigest)
        }
    }

    @Test("(4) a changing --build-arg the stage does not declare changes no key; declared, only the RUNs after the ARG re-run")
    func changingBuildArg() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("ARG BUILD_ID\nFROM \(base)\nRUN echo one > /one\nCOPY f.txt /f\nRUN cat /f > /g\n", to: "Undeclared.Dockerfile")
            try write("FROM \(base)\nRUN echo one > /one\nARG BUILD_ID\nCOPY f.txt /f\nRUN cat /f > /g\n", to: "Declared.Dockerfile")
            try write("f\n", to: "f.txt")
            let cache = ["--cache-repo", "\(registry.host)/cache/app"]
            for (index, dockerfile) in ["Undeclared.Dockerfile", "Declared.Dockerfile"].enumerated() {
                _ = try build(root: freshRoot("a\(index)"), cache + ["--build-arg", "BUILD_ID=\(UInt32.random(in: 0...UInt32.max))"],
                              dockerfile: dockerfile)
            }
            let undeclared = try build(root: freshRoot("b0"), cache + ["--build-arg", "BUILD_ID=\(UUID().uuidString)"],
                                       dockerfile: "Undeclared.Dockerfile")
            #expect(undeclared.metadata.statuses == ["cached", "cached", "cached"])
            let declared = try build(root: freshRoot("b1"), cache + ["--build-arg", "BUILD_ID=\(UUID().uuidString)", "--explain-cache"],
                                     dockerfile: "Declared.Dockerfile")
            #expect(declared.metadata.statuses == ["cached", "metadata", "cached", "executed"])
            #expect((declared.metadata.steps[3]["explain"] as? String)?.contains("BUILD_ID") == true)
        }
    }

    @Test("(5) an unreachable or silent cache repository: the build succeeds with one warning and tags nothing there",
          arguments: ["refused", "silent"])
    func unreachableCache(kind: String) async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\nRUN echo two > /two\n", to: "Dockerfile")
            let listener = kind == "silent" ? try SilentListener() : nil
            defer { listener?.close() }
            let port = try listener?.port ?? TestRegistry.freePort()
            let result = try build(root: freshRoot("a"), ["--cache-repo", "127.0.0.1:\(port)/cache", "--cache-timeout", "2s",
                                                          "-t", "\(registry.host)/app/one:v1", "--push"])
            #expect(result.metadata.statuses == ["executed", "executed"])
            let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("WARNING:") && $0.contains("cache") }
            #expect(warnings.count == 1, "\(result.stderr)")
            #expect(warnings.first?.contains("127.0.0.1:\(port)/cache") == true)
            let tags = try ProcessRunner.checked("skopeo", ["list-tags", "--tls-verify=false", "docker://\(registry.host)/app/one"]).stdout
            #expect(tags.contains("\"v1\""))
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: freshRoot("a") + "/tmp")) ?? []
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }

    @Test("entries a machine made before it used --cache-repo reach the repository on its next (locally cached) build")
    func localHitsShared() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\nRUN echo two > /two\n", to: "Dockerfile")
            let cache = ["--cache-repo", "\(registry.host)/cache/app"]
            _ = try build(root: freshRoot("a"), [])
            let local = try build(root: freshRoot("a"), cache)
            #expect(local.metadata.statuses == ["cached", "cached"])
            let elsewhere = try build(root: freshRoot("b"), cache)
            #expect(elsewhere.metadata.statuses == ["cached", "cached"])
        }
    }

    @Test("multi-stage (FROM stage, COPY --from) on a new machine: every step hits, no layer is fetched, same digest")
    func multiStageNewMachine() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base) AS build\nRUN echo built > /artifact\nFROM build AS test\nRUN cat /artifact > /tested\n"
                      + "FROM \(base)\nCOPY --from=test /tested /tested\nRUN cat /tested > /final\n", to: "Dockerfile")
            let cache = ["--cache-repo", "\(registry.host)/cache/app"]
            let cold = try build(root: freshRoot("a"), cache)
            #expect(cold.metadata.statuses == ["executed", "executed", "executed", "executed"])
            let before = Self.blobGETs(registry).count
            let warm = try build(root: freshRoot("b"), cache + ["-t", "\(registry.host)/app/multi:v1", "--push"])
            #expect(warm.metadata.statuses == ["cached", "cached", "cached", "cached"])
            #expect(warm.metadata.imageDigest == cold.metadata.imageDigest)
            let layers = try Set(cold.metadata.steps.compactMap { $0["layer"] as? String })
            #expect(Set(Self.blobGETs(registry).dropFirst(before)).isDisjoint(with: layers))
        }
    }

    @Test("--cache-to only writes, --cache-from only reads")
    func readOnlyAndWriteOnly() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\n", to: "Dockerfile")
            let repo = "\(registry.host)/cache/app"
            let writer = try build(root: freshRoot("a"), ["--cache-to", repo])
            #expect(writer.metadata.statuses == ["executed"])
            let tags = { () throws -> Set<String> in
                let listing = try ProcessRunner.checked("skopeo", ["list-tags", "--tls-verify=false", "docker://\(repo)"]).stdout
                let object = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any]
                return Set(object?["Tags"] as? [String] ?? [])
            }
            #expect(try tags().contains { $0.hasPrefix("kiln-") })
            // A write-only cache is never read: a fresh root with it alone runs everything. Its
            // result may be a variant of its own (a second later, another mtime), so the tags the
            // reader must leave alone are taken after it.
            #expect(try build(root: freshRoot("b"), ["--cache-to", repo]).metadata.statuses == ["executed"])
            let written = try tags()
            try write("FROM \(base)\nRUN echo one > /one\nRUN echo two > /two\n", to: "Dockerfile")
            let reader = try build(root: freshRoot("c"), ["--cache-from", repo])
            #expect(reader.metadata.statuses == ["cached", "executed"])
            #expect(try tags() == written)
        }
    }

    @Test("trust boundary: a pull-request build reads the protected cache and writes only its own; the protected build never reads it")
    func pullRequestsCannotPoisonTheProtectedCache() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            let protected = "\(registry.host)/cache/main", pullRequest = "\(registry.host)/cache/pr-17"
            try write("FROM \(base)\nRUN echo deps > /deps\nCOPY app.txt /app.txt\nRUN cat /app.txt > /out\n", to: "Dockerfile")
            try write("release\n", to: "app.txt")
            // The protected branch builds with its cache read-write.
            let main = try build(root: freshRoot("main-1"), ["--cache-repo", protected])
            #expect(main.metadata.statuses == ["executed", "executed", "executed"])
            let tags = { (repo: String) -> String in
                (try? ProcessRunner.checked("skopeo", ["list-tags", "--tls-verify=false", "docker://\(repo)"]).stdout) ?? ""
            }
            let protectedTags = tags(protected)
            // A pull request changes a file (say, to plant a poisoned result): it reads the
            // protected cache and writes its own, never the protected one.
            try write("poisoned\n", to: "app.txt")
            let pr = try build(root: freshRoot("pr"), ["--cache-from", protected, "--cache-to", pullRequest])
            #expect(pr.metadata.statuses == ["cached", "executed", "executed"])
            #expect(tags(protected) == protectedTags)
            #expect(tags(pullRequest).contains("kiln-"))
            // The protected branch, even building the very same files on a new machine, reads
            // only its own cache: the pull request's entries are never consulted.
            let prManifestReads = registry.requestCount("GET", path: "/v2/cache/pr-17/manifests/")
            let again = try build(root: freshRoot("main-2"), ["--cache-repo", protected])
            #expect(again.metadata.statuses == ["cached", "executed", "executed"])
            #expect(registry.requestCount("GET", path: "/v2/cache/pr-17/manifests/") == prManifestReads)
            #expect(registry.requestCount("HEAD", path: "/v2/cache/pr-17/manifests/") == 0)
        }
    }

    @Test("a far cache: the keys of a 10-step build are looked up at once, not one round trip per step")
    func lookupsAreConcurrent() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\n" + (1...10).map { "RUN echo \($0) > /f\($0)\n" }.joined(), to: "Dockerfile")
            _ = try build(root: freshRoot("a"), ["--cache-repo", "\(registry.host)/cache/far"])
            try await withFaultProxy(for: registry, faults: .init(latencyMilliseconds: 50)) { proxy in
                let warm = try build(root: freshRoot("b"), ["--cache-repo", "\(proxy.host)/cache/far"])
                #expect(warm.metadata.statuses == Array(repeating: "cached", count: 10))
                let lookups = proxy.requests().filter { $0.hasPrefix("GET /v2/cache/far/manifests/kiln-") }
                #expect(lookups.count == 10, "\(lookups)")
                // Every lookup was sent before the first (50 ms) answer came back, up to the
                // backend's parallelism (8): the chain is checked afterwards, step by step.
                let overlap = lookups.compactMap { $0.split(separator: "inflight=").last.flatMap { Int($0) } }.max() ?? 0
                #expect(overlap >= 5, "\(lookups)")
            }
        }
    }

    @Test("kiln cache ls and prune --cache-repo list and delete the registry's entries")
    func registryListAndPrune() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo one > /one\nRUN echo two > /two\n", to: "Dockerfile")
            let repo = "\(registry.host)/cache/app"
            _ = try build(root: freshRoot("a"), ["--cache-repo", repo])
            let environment = ["KILN_ROOT": freshRoot("a")]
            func listed() throws -> [String] {
                let result = try KilnBinary.run(["cache", "ls", "--json", "--cache-repo", repo], environment: environment)
                #expect(result.status == 0, "\(result.stderr)")
                return result.stdout.split(separator: "\n").map(String.init)
            }
            let entries = try listed()
            #expect(entries.count == 2)
            #expect(entries.contains { $0.contains("RUN") && $0.contains("echo two") })
            let kept = try KilnBinary.run(["cache", "prune", "--keep-duration", "1h", "--cache-repo", repo], environment: environment)
            #expect(kept.stdout.contains("\(repo): removed 0 entries"), "\(kept.stdout) \(kept.stderr)")
            let pruned = try KilnBinary.run(["cache", "prune", "--keep-duration", "0s", "--cache-repo", repo], environment: environment)
            #expect(pruned.stdout.contains("\(repo): removed 2 entries"), "\(pruned.stdout) \(pruned.stderr)")
            #expect(try listed().isEmpty)
        }
    }

    @Test("--no-cache-filter STAGE re-runs that stage's steps (by name or index) and still hits elsewhere; --no-cache none")
    func noCacheFilter() throws {
        // The tools stage gives byte-identical output when it runs again (a COPY keeps the
        // context file's mtime), so what reads it may still hit; a stage whose re-run gives
        // other bytes is the soundness suite's case.
        try write("FROM busybox AS tools\nCOPY tools.txt /tools\nFROM busybox\nCOPY --from=tools /tools /tools\nRUN cat /tools\n",
                  to: "Dockerfile")
        try write("tools\n", to: "tools.txt")
        let context = ["--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"]
        let root = freshRoot("a")
        _ = try build(root: root, context)
        #expect(try build(root: root, context + ["--no-cache-filter", "tools"]).metadata.statuses == ["executed", "cached", "cached"])
        #expect(try build(root: root, context + ["--no-cache-filter", "1"]).metadata.statuses == ["cached", "executed", "executed"])
        #expect(try build(root: root, context + ["--no-cache"]).metadata.statuses == ["executed", "executed", "executed"])
    }

    @Test("(6) two fresh roots with SOURCE_DATE_EPOCH give the same image digest")
    func reproducibleDigest() throws {
        try write("FROM busybox\nRUN echo one > /one && mkdir -p /var/x && touch /var/x/y\nCOPY f.txt /f\nRUN cat /f > /g\n",
                  to: "Dockerfile")
        try write("f\n", to: "f.txt")
        let context = "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"
        var digests: [String] = []
        for name in ["a", "b"] {
            let built = try build(root: freshRoot(name), ["--build-context", context, "--build-arg", "SOURCE_DATE_EPOCH=1700000000",
                                                          "--output", "type=oci,dest=\(harness.directory.path)/out-\(name)"])
            #expect(built.metadata.statuses == ["executed", "executed", "executed"])
            digests.append(built.metadata.imageDigest)
        }
        #expect(digests[0] == digests[1])
    }
}

/// What a `--metadata-file` says.
struct BuildOutcome {
    var imageDigest: String
    var steps: [[String: Any]]

    init(_ file: URL) throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:]
        imageDigest = document["containerimage.digest"] as? String ?? "missing"
        steps = document["kiln.steps"] as? [[String: Any]] ?? []
    }

    /// Each step's status: `cached`, `executed`, `metadata`.
    var statuses: [String] { steps.compactMap { $0["status"] as? String } }
}

/// A loopback port that accepts connections and never answers: a cache that hangs.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Bool in
                bind(descriptor, generic, length) == 0 && listen(descriptor, 64) == 0
                    && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
