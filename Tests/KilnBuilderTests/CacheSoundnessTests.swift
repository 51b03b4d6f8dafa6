import Foundation
import KilnTestSupport
import Testing

/// Issue 10's proof: the cache is sound. Every case of ``SoundnessCase/all`` builds A, changes
/// one input, builds B where A was built (warm) and B′ on a fresh root (cold), and checks that
/// B equals B′ — manifest layers, diff IDs, config minus `created` — and that exactly the steps
/// whose inputs did not change were answered from the cache. Then the same through a registry
/// cache, and the cases no table row can express: a stage re-run with `--no-cache-filter`,
/// a context file rewritten during the build, and concurrent builds on one root or one cache
/// repository.
///
/// Only the `kiln` binary is driven (``KilnBinary``), so `KILN_BINARY=/path` checks another
/// build of it. `KILN_SOUNDNESS_REPORT=FILE` appends one line per case: PASS, or FAIL and the
/// first failed assertion.
@Suite("cache soundness (differential, through the kiln binary)", .serialized,
       .enabled(if: SoundnessRequirements.met, Comment(rawValue: SoundnessRequirements.unmet)))
struct CacheSoundnessTests {
    // MARK: The case table

    @Test("local cache: B built on A's root equals B′ built on a fresh root", arguments: SoundnessCase.all)
    func localCache(_ soundnessCase: SoundnessCase) async {
        await Self.differential(soundnessCase, mode: "local", cacheRepository: nil)
    }

    @Test("registry cache: B on a fresh root with A's --cache-repo equals B′ built with no cache", arguments: SoundnessCase.all)
    func registryCache(_ soundnessCase: SoundnessCase) async {
        let verdict = SoundnessVerdict(mode: "registry", name: soundnessCase.name)
        await verdict.run {
            try await withTestRegistry { registry in
                try await Self.differential(soundnessCase, verdict: verdict,
                                            cacheRepository: "\(registry.host)/cache/\(Self.repositoryName(soundnessCase.name))")
            }
        }
    }

    /// A case name as a repository path component: lowercase letters and digits, single dashes.
    static func repositoryName(_ name: String) -> String {
        let words = name.lowercased().split { !(("a"..."z").contains($0) || ("0"..."9").contains($0)) }
        return words.joined(separator: "-").prefix(60).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }

    static func differential(_ soundnessCase: SoundnessCase, mode: String, cacheRepository: String?) async {
        let verdict = SoundnessVerdict(mode: mode, name: soundnessCase.name)
        await verdict.run { try await differential(soundnessCase, verdict: verdict, cacheRepository: cacheRepository) }
    }

    /// A on R1; mutate; B on R1 (local) or on a fresh R3 sharing A's cache repository; B′ on a
    /// fresh R2 with no cache at all. Then compares.
    static func differential(_ soundnessCase: SoundnessCase, verdict: SoundnessVerdict, cacheRepository: String?) async throws {
        let workspace = try SoundnessWorkspace(name: soundnessCase.name, dockerfile: soundnessCase.dockerfile, flags: soundnessCase.flags)
        try await withStopping(workspace, stop: { await $0.close() }) { workspace in
            if soundnessCase.http { try await workspace.startHTTP() }
            for (path, text) in soundnessCase.files { try workspace.write(path, text) }
            try soundnessCase.prepare(workspace)
            let cache = cacheRepository.map { ["--cache-repo", $0] } ?? []
            let a = try workspace.build("A", root: workspace.root("r1"), extra: cache)
            guard a.status == 0 else { return verdict.fail("A failed (\(a.status)): \(lastLines(a.stderr))") }
            try soundnessCase.mutate(workspace)
            let b = try workspace.build("B", root: workspace.root(cacheRepository == nil ? "r1" : "r3"), extra: cache)
            let fresh = try workspace.build("B-fresh", root: workspace.root("r2"))
            guard b.status == 0 else { return verdict.fail("B failed (\(b.status)): \(lastLines(b.stderr))") }
            guard fresh.status == 0 else { return verdict.fail("B′ failed (\(fresh.status)): \(lastLines(fresh.stderr))") }
            compare(soundnessCase, a: a, b: b, fresh: fresh, workspace: workspace, verdict: verdict)
        }
    }

    /// The assertions, most telling first: the first failure is the report's line.
    static func compare(_ soundnessCase: SoundnessCase, a: SoundnessWorkspace.Run, b: SoundnessWorkspace.Run,
                        fresh: SoundnessWorkspace.Run, workspace: SoundnessWorkspace, verdict: SoundnessVerdict) {
        let expected = soundnessCase.expectedStatuses
        let matches = b.statuses.count == expected.count
            && zip(b.statuses, expected).allSatisfy { status, pattern in pattern.split(separator: "|").contains { $0 == status } }
        verdict.expect(matches, "B's step statuses \(b.statuses) ≠ expected \(expected) (A: \(a.statuses))")
        guard let bImage = b.summary, let freshImage = fresh.summary, let aImage = a.summary else {
            return verdict.fail("an output layout is missing")
        }
        verdict.expect(bImage.layers == freshImage.layers,
                       "B's layers ≠ B′'s (fresh root): \(short(bImage.layers)) vs \(short(freshImage.layers))")
        verdict.expect(bImage.diffIDs == freshImage.diffIDs,
                       "B's diff_ids ≠ B′'s: \(short(bImage.diffIDs)) vs \(short(freshImage.diffIDs))")
        verdict.expect(bImage.configWithoutCreated == freshImage.configWithoutCreated,
                       "B's config ≠ B′'s (created removed): \(bImage.configWithoutCreated) vs \(freshImage.configWithoutCreated)")
        if soundnessCase.sameImageAsA {
            verdict.expect(bImage.manifestDigest == aImage.manifestDigest,
                           "B's image \(bImage.manifestDigest) ≠ A's \(aImage.manifestDigest) though no image input changed")
        }
        if let mediaType = soundnessCase.layerMediaType {
            // Layers the steps made take the output's compression; the base image's stay as
            // they are (as BuildKit keeps them without force-compression).
            let made = Array(bImage.layerMediaTypes.dropFirst(workspace.baseLayerCount))
            verdict.expect(!made.isEmpty && made.allSatisfy { $0.contains(mediaType) },
                           "B's own layers are not all \(mediaType): \(bImage.layerMediaTypes)")
        }
        for (path, text) in soundnessCase.imageFiles.sorted(by: { $0.key < $1.key }) {
            do {
                let found = try workspace.imageFile(b, path)
                verdict.expect(found == text, "B's /\(path) is \(found.map { "\"\($0)\"" } ?? "absent"), expected \(text.map { "\"\($0)\"" } ?? "absent")")
            } catch {
                verdict.fail("reading /\(path) of B: \(error)")
            }
        }
    }

    // MARK: --no-cache-filter on a stage whose re-run gives new bytes

    /// How the final stage reads the re-run stage `s`, and the file holding what it read.
    static let randomStageReaders: [(name: String, final: String, file: String)] = [
        ("COPY --from=stage", "FROM busybox\nCOPY --from=s /r /r\n", "r"),
        ("FROM stage", "FROM s\nRUN cat /r > /r2\n", "r2"),
        ("bind mount from stage", "FROM busybox\nRUN --mount=type=bind,from=s,source=/r,target=/m cat /m > /r2\n", "r2"),
    ]

    @Test("--no-cache-filter re-runs a stage writing /dev/urandom bytes: what reads it misses and gets the new bytes",
          arguments: randomStageReaders.map(\.name), ["local", "registry"])
    func noCacheFilterRandomStage(_ reader: String, mode: String) async {
        let verdict = SoundnessVerdict(mode: mode, name: "--no-cache-filter on a random stage, read by \(reader)")
        await verdict.run {
            if mode == "registry" {
                try await withTestRegistry { registry in
                    try await Self.noCacheFilterRandomStage(reader, cacheRepository: "\(registry.host)/cache/random-stage", verdict: verdict)
                }
            } else {
                try await Self.noCacheFilterRandomStage(reader, cacheRepository: nil, verdict: verdict)
            }
        }
    }

    /// A on R1, then B with `--no-cache-filter s` on R1 (local) or on a fresh R3 sharing A's
    /// cache repository. B′ is pointless here: the stage's bytes are new on every run.
    static func noCacheFilterRandomStage(_ reader: String, cacheRepository: String?, verdict: SoundnessVerdict) async throws {
        let (_, final, file) = try #require(randomStageReaders.first { $0.name == reader })
        let dockerfile = "FROM busybox AS s\nRUN head -c 32 /dev/urandom > /r\n" + final
        let workspace = try SoundnessWorkspace(name: reader, dockerfile: dockerfile, flags: [])
        try await withStopping(workspace, stop: { await $0.close() }) { workspace in
            let cache = cacheRepository.map { ["--cache-repo", $0] } ?? []
            let (rootA, rootB) = (workspace.root("r1"), workspace.root(cacheRepository == nil ? "r1" : "r3"))
            let a = try workspace.build("A", root: rootA, extra: cache)
            guard a.status == 0 else { return verdict.fail("A failed: \(lastLines(a.stderr))") }
            workspace.flags += ["--no-cache-filter", "s"]
            let b = try workspace.build("B", root: rootB, extra: cache)
            guard b.status == 0 else { return verdict.fail("B failed: \(lastLines(b.stderr))") }
            verdict.expect(b.statuses == ["executed", "executed"], "B's step statuses \(b.statuses) ≠ [executed, executed]")
            // The stage's new bytes: its RUN layer, from the root's content store.
            let aStage = try stageBytes(a, root: rootA)
            let bStage = try stageBytes(b, root: rootB)
            verdict.expect(aStage != bStage, "the re-run stage wrote the same random bytes as before")
            let image = try workspace.imageData(b, file)
            verdict.expect(image == bStage, "the final image's /\(file) is not the re-run stage's /r (stale stage result used)")
        }
    }

    /// The `/r` the first step (stage `s`'s RUN) of `run` wrote, read from its layer blob.
    static func stageBytes(_ run: SoundnessWorkspace.Run, root: String) throws -> Data {
        let layer = try #require(run.outcome?.steps.first?["layer"] as? String, "step 1 of \(run.label) has no layer")
        let blob = "\(root)/blobs/sha256/\(layer.replacingOccurrences(of: "sha256:", with: ""))"
        return try ProcessRunner.checked("tar", ["-xzOf", blob, "r"]).stdoutData
    }

    // MARK: A context file rewritten while the build runs

    @Test("a COPY source rewritten during the build: an error, or the digested bytes; the next builds give the current file")
    func contextChangedDuringBuild() async {
        let verdict = SoundnessVerdict(mode: "local", name: "context file rewritten during the build")
        await verdict.run {
            let workspace = try SoundnessWorkspace(name: "changed-during-build",
                                                   dockerfile: "FROM busybox\nRUN sleep 3\nCOPY f.txt /f\n", flags: [])
            try await withStopping(workspace, stop: { await $0.close() }) { workspace in
                let root = workspace.root("r1")
                try workspace.write("f.txt", "before\n")
                let arguments = try workspace.arguments("during")
                let process = Process()
                process.executableURL = KilnBinary.url
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(workspace.environment.merging(["KILN_ROOT": root]) { $1 }) { $1 }
                let log = workspace.directory.appendingPathComponent("during.stderr")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let handle = try FileHandle(forWritingTo: log)
                process.standardError = handle
                process.standardOutput = FileHandle.nullDevice
                process.standardInput = FileHandle.nullDevice
                try process.run()
                try? handle.close()
                // Keys are computed before anything runs: once the RUN has started, the COPY's
                // key has digested "before". Rewrite the file (new size, new mtime) then.
                var rewritten = false
                while process.isRunning {
                    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    if text.contains("RUN sleep 3") {
                        try workspace.write("f.txt", "after, longer\n")
                        rewritten = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
                let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                guard rewritten else { return verdict.fail("the build ended before its RUN step was seen starting: \(lastLines(stderr))") }
                if process.terminationStatus != 0 {
                    verdict.expect(stderr.contains("changed during the build"),
                                   "the build failed (\(process.terminationStatus)) without saying the file changed during the build: \(lastLines(stderr))")
                } else {
                    let during = SoundnessWorkspace.Run(label: "during", status: 0, stderr: stderr,
                                                        layout: workspace.directory.appendingPathComponent("out-during"))
                    let copied = try workspace.imageFile(during, "f")
                    verdict.expect(copied == "before\n", "the build succeeded but /f is \(copied.debugDescription), not the \"before\" its key digested")
                }
                // The root must not hold an entry whose key and content disagree.
                let now = try workspace.build("after", root: root)
                guard now.status == 0 else { return verdict.fail("the build after failed: \(lastLines(now.stderr))") }
                verdict.expect(try workspace.imageFile(now, "f") == "after, longer\n", "the next build's /f is not the file's current content")
                try workspace.write("f.txt", "before\n")
                let back = try workspace.build("back", root: root)
                guard back.status == 0 else { return verdict.fail("the build with the file restored failed: \(lastLines(back.stderr))") }
                let restored = try workspace.imageFile(back, "f")
                verdict.expect(restored == "before\n", "with the file restored to \"before\", /f is \(restored.debugDescription) (a poisoned entry)")
            }
        }
    }

    // MARK: Concurrent builds

    /// Three RUN steps, each adding /dev/urandom bytes to what the one before wrote: any two
    /// executions differ, so a cached build mixing entries of two builds is visible.
    static let randomChain = "FROM busybox\nRUN head -c 32 /dev/urandom > /r1\n"
        + "RUN cat /r1 > /r2 && head -c 32 /dev/urandom >> /r2\nRUN cat /r2 > /r3 && head -c 32 /dev/urandom >> /r3\n"

    static let repetitions = 10

    @Test("two builds at once on one root, then a cached build there: its layers are one of the two builds'")
    func concurrentBuildsOneRoot() async {
        let verdict = SoundnessVerdict(mode: "local", name: "concurrency: two builds on one root (\(Self.repetitions)×)")
        await verdict.run {
            let workspace = try SoundnessWorkspace(name: "concurrent-root", dockerfile: Self.randomChain, flags: [])
            try await withStopping(workspace, stop: { await $0.close() }) { workspace in
                for repetition in 0..<Self.repetitions {
                    let root = workspace.root("shared-\(repetition)")
                    let pair = try Self.twoAtOnce(workspace, labels: ["x\(repetition)", "y\(repetition)"], roots: [root, root], extra: [])
                    let third = try workspace.build("z\(repetition)", root: root)
                    Self.checkThird(third, pair: pair, repetition: repetition, verdict: verdict)
                }
            }
        }
    }

    @Test("two fresh roots at once sharing one --cache-repo, then a third fresh root: its layers are one of the two builds'")
    func concurrentBuildsOneRepository() async {
        let verdict = SoundnessVerdict(mode: "registry", name: "concurrency: two roots, one --cache-repo (\(Self.repetitions)×)")
        await verdict.run {
            try await withTestRegistry { registry in
                let workspace = try SoundnessWorkspace(name: "concurrent-repo", dockerfile: Self.randomChain, flags: [])
                try await withStopping(workspace, stop: { await $0.close() }) { workspace in
                    for repetition in 0..<Self.repetitions {
                        let cache = ["--cache-repo", "\(registry.host)/cache/concurrent-\(repetition)"]
                        let roots = [workspace.root("x\(repetition)"), workspace.root("y\(repetition)")]
                        let pair = try Self.twoAtOnce(workspace, labels: ["x\(repetition)", "y\(repetition)"], roots: roots, extra: cache)
                        let third = try workspace.build("z\(repetition)", root: workspace.root("z\(repetition)"), extra: cache)
                        Self.checkThird(third, pair: pair, repetition: repetition, verdict: verdict)
                    }
                }
            }
        }
    }

    /// Starts two builds at the same time (two threads, each running `kiln` to its end).
    static func twoAtOnce(_ workspace: SoundnessWorkspace, labels: [String], roots: [String], extra: [String]) throws
        -> [SoundnessWorkspace.Run] {
        let results = RunBox()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            results.set(index, Result { try workspace.build(labels[index], root: roots[index], extra: extra) })
        }
        return try (0..<2).map { try results.get($0) }
    }

    static func checkThird(_ third: SoundnessWorkspace.Run, pair: [SoundnessWorkspace.Run], repetition: Int, verdict: SoundnessVerdict) {
        for run in pair {
            verdict.expect(run.status == 0, "repetition \(repetition): concurrent build \(run.label) failed: \(lastLines(run.stderr))")
        }
        guard third.status == 0, let layers = third.summary?.layers else {
            return verdict.fail("repetition \(repetition): the third build failed: \(lastLines(third.stderr))")
        }
        let candidates = pair.compactMap { $0.summary?.layers }
        verdict.expect(candidates.contains(layers),
                       "repetition \(repetition): the cached build's layers \(short(layers)) are neither build's: \(candidates.map(short))")
    }
}

/// What the suite needs installed (outside the suite type: its `@Suite` attribute reads it).
enum SoundnessRequirements {
    static var met: Bool {
        TestRegistry.isAvailable && ["/usr/sbin/runc", "/usr/bin/runc"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let unmet = "needs docker-registry and runc (apt-get install docker-registry runc)"
}

/// The two results of ``CacheSoundnessTests/twoAtOnce``, written from two threads.
private final class RunBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: Result<SoundnessWorkspace.Run, any Error>] = [:]

    func set(_ index: Int, _ result: Result<SoundnessWorkspace.Run, any Error>) {
        lock.withLock { results[index] = result }
    }

    func get(_ index: Int) throws -> SoundnessWorkspace.Run {
        try lock.withLock { results[index] }!.get()
    }
}

/// The last lines of a build's standard error, on one line, for a failure message.
func lastLines(_ text: String, _ count: Int = 4) -> String {
    text.split(separator: "\n").suffix(count).joined(separator: " ⏎ ")
}

/// Digests shortened to 12 hex digits, for messages.
func short(_ digests: [String]) -> String {
    "[" + digests.map { String($0.replacingOccurrences(of: "sha256:", with: "").prefix(12)) }.joined(separator: ", ") + "]"
}
