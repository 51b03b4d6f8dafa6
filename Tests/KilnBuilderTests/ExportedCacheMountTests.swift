import Foundation
import KilnTestSupport
import Testing

/// Issue 14's proof: cache mounts follow the registry cache to a new machine. Real parts only:
/// `docker-registry`, runc, Maven and pip in a debootstrapped Debian, resolving from a stand-in
/// index that counts artifact downloads. Each "machine" is a fresh `$KILN_ROOT`.
@Suite("exported cache mounts: real package managers on new machines", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
       .enabled(if: TestPackageIndex.isAvailable, Comment(rawValue: TestPackageIndex.unavailableReason)),
       .enabled(if: BaseImages.canMakeDebian, "debootstrap (as root) makes the Debian base"))
struct ExportedCacheMountTests {
    let workspace: ExportedCacheWorkspace

    init() throws {
        workspace = try ExportedCacheWorkspace()
    }

    @Test("a new machine resolves with 0 artifact downloads after a source edit; one added dependency is the one download; the old machine imports only the new blobs",
          arguments: [DependencyProject.Kind.maven, .pip])
    func newMachine(kind: DependencyProject.Kind) async throws {
        try await workspace.withIndexAndRegistry { index, registry in
            let project = try DependencyProject(kind, in: workspace.directory.appendingPathComponent("project"), index: index)
            let cache = ["--cache-repo", "\(registry.host)/cache/\(kind.rawValue)"]
            let machineA = workspace.freshRoot("a"), machineB = workspace.freshRoot("b")

            /// Builds on `root`: the resolving RUN must execute and, when `imports` is given, start
            /// from exactly that cache state. Returns the outcome and the artifacts downloaded.
            func resolve(on root: String, imports: ExportedCacheWorkspace.Outcome?, _ why: Comment)
                throws -> (outcome: ExportedCacheWorkspace.Outcome, downloads: [String]) {
                let mark = index.artifactDownloads().count
                let outcome = try workspace.build(project, root: root, cache)
                #expect(outcome.resolveStatus == "executed", why)
                if let imports {
                    let restored = outcome.cacheBefore == imports.cacheAfter
                    #expect(restored, "\(why): \(difference(outcome.cacheBefore, imports.cacheAfter))")
                }
                return (outcome, index.artifactDownloads(after: mark))
            }

            let cold = try resolve(on: machineA, imports: nil, "cold build")
            #expect(cold.downloads.count >= (kind == .maven ? 200 : 30), "\(cold.downloads.count) artifacts: \(index.missingPaths())")
            let blobsAfterCold = workspace.storedBlobs(registry)

            // A source edit on a machine that never built: the resolving RUN runs again, and
            // finds every artifact in the imported cache, exactly as machine A left it.
            try project.editSource(version: 2)
            let edited = try resolve(on: machineB, imports: cold.outcome, "machine B imports machine A's cache")
            #expect(edited.downloads.count == 0, "downloaded again, e.g. \(edited.downloads.prefix(3))")

            // One more dependency: exactly its artifacts are downloaded.
            try project.addDependency()
            let added = try resolve(on: machineB, imports: edited.outcome, "machine B keeps its cache")
            let exactlyTheAdded = added.downloads.sorted() == project.addedArtifacts.sorted()
            #expect(exactlyTheAdded, "\(added.downloads.count) downloads, e.g. \(added.downloads.prefix(4))")
            let newBlobs = Set(workspace.storedBlobs(registry).keys).subtracting(blobsAfterCold.keys)

            // Machine A catches up: it downloads no artifact, and of the registry it reads only
            // blobs machine B's last build added, far fewer bytes than the whole cache.
            try project.editSource(version: 3)
            let gets = workspace.blobGETs(registry).count
            let caughtUp = try resolve(on: machineA, imports: added.outcome, "machine A imports machine B's additions")
            #expect(caughtUp.downloads.count == 0, "downloaded again, e.g. \(caughtUp.downloads.prefix(3))")
            let fetched = Array(workspace.blobGETs(registry).dropFirst(gets))
            #expect(!fetched.isEmpty)
            #expect(Set(fetched.map(\.digest)).isSubset(of: newBlobs), "fetched \(fetched), new \(newBlobs)")
            let fetchedBytes = fetched.reduce(0) { $0 + $1.bytes }
            let wholeCache = blobsAfterCold.values.reduce(0, +)
            #expect(fetchedBytes * 4 < wholeCache, "fetched \(fetchedBytes) bytes of a \(wholeCache)-byte cache")
        }
    }

    @Test("two builders export the same cache id at once: a third machine imports one builder's complete state")
    func concurrentExports() async throws {
        try await workspace.withIndexAndRegistry { index, registry in
            let cache = ["--cache-repo", "\(registry.host)/cache/race"]
            let first = try DependencyProject(.pip, in: workspace.directory.appendingPathComponent("first"), index: index)
            try first.setRequirements(Array(TestWheels.topLevel.prefix(6)))
            let second = try DependencyProject(.pip, in: workspace.directory.appendingPathComponent("second"), index: index)
            try second.setRequirements(Array(TestWheels.topLevel.suffix(6)))
            let builds = try [first, second].enumerated().map { index, project in
                try BackgroundBuild(workspace.arguments(project, cache), root: URL(fileURLWithPath: workspace.freshRoot("racer\(index)")))
            }
            let states = try builds.map { build -> [String] in
                let (status, output) = build.finish()
                #expect(status == 0, "\(output)")
                return try #require(DependencyProject.cacheState("cache-after", in: output))
            }
            #expect(states[0] != states[1])

            let third = try DependencyProject(.pip, in: workspace.directory.appendingPathComponent("third"), index: index)
            let imported = try workspace.build(third, root: workspace.freshRoot("third"), cache)
            // One builder's complete state: all of its files, each whole (a file's digest is a
            // builder's), and nothing neither wrote. An export keeps what another builder added
            // since it imported, so the later of two exports may hold the earlier one's files too.
            let found = Set(imported.cacheBefore ?? [])
            let complete = states.contains { Set($0).isSubset(of: found) } && found.isSubset(of: Set(states.joined()))
            let report = "imported no builder's complete state: \(difference(imported.cacheBefore, states[0])); "
                + difference(imported.cacheBefore, states[1])
            #expect(complete, "\(report)")
        }
    }
}

/// How two cache states (``DependencyProject/cacheState(_:in:)``) differ, briefly.
func difference(_ found: [String]?, _ expected: [String]?) -> String {
    guard let found, let expected else { return "found \(found?.count ?? -1) files, expected \(expected?.count ?? -1)" }
    let extra = Set(found).subtracting(expected).sorted(), missing = Set(expected).subtracting(found).sorted()
    return "\(found.count) files against \(expected.count): \(missing.count) missing (e.g. \(missing.prefix(3))), "
        + "\(extra.count) unexpected (e.g. \(extra.prefix(3)))"
}

/// Issue 14's trust rule: a build imports only from the caches it reads and exports only to
/// the one it writes, so a pull-request build cannot poison what a release build imports.
@Suite("exported cache mounts: scoped by trust", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct CacheMountTrustTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// Runs a build whose RUN lists cache `deps`, then writes `file` into it; returns the
    /// names it listed. A fresh nonce before the RUN makes the RUN execute every time.
    func build(root: String, _ flags: [String], writing file: String) throws -> [String] {
        try Data(UUID().uuidString.utf8).write(to: harness.context.appendingPathComponent("nonce"))
        let dockerfile = harness.directory.appendingPathComponent("Dockerfile")
        try Data("""
            FROM busybox
            COPY nonce /nonce
            RUN --mount=type=cache,id=deps,target=/deps ls /deps | sed 's/^/in-cache /' && echo '\(file)' > /deps/\(file)

            """.utf8).write(to: dockerfile)
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", dockerfile.path,
             "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"] + flags
                + [harness.context.path],
            environment: ["KILN_ROOT": root], currentDirectory: harness.directory)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stderr.split(separator: "\n").compactMap { line in
            line.range(of: " in-cache ").map { String(line[$0.upperBound...]) }
        }
    }

    func root(_ name: String) -> String { harness.directory.appendingPathComponent("root-\(name)").path }

    @Test("a pull-request build (--cache-from main, --cache-to pr) never puts its file into what a release build (--cache-repo main) imports, on a fresh root or on its own")
    func pullRequestCannotPoisonRelease() async throws {
        try await withTestRegistry { registry in
            let main = "\(registry.host)/cache/main", pullRequest = "\(registry.host)/cache/pr"
            _ = try build(root: root("release"), ["--cache-repo", main], writing: "good.jar")

            let seenByPR = try build(root: root("pr"), ["--cache-from", main, "--cache-to", pullRequest], writing: "poisoned.jar")
            #expect(seenByPR == ["good.jar"], "the pull request did not start from the main cache")
            // The poison did go somewhere: a build that reads the pull request's cache sees it.
            #expect(try build(root: root("pr-reader"), ["--cache-from", pullRequest], writing: "x").contains("poisoned.jar"))

            let freshRelease = try build(root: root("release-new"), ["--cache-repo", main], writing: "release.jar")
            #expect(freshRelease.contains("good.jar"))
            #expect(!freshRelease.contains("poisoned.jar"), "\(freshRelease)")
            let sameRootRelease = try build(root: root("pr"), ["--cache-repo", main], writing: "release2.jar")
            #expect(sameRootRelease.contains("good.jar"))
            #expect(!sameRootRelease.contains("poisoned.jar"), "\(sameRootRelease)")
        }
    }
}
