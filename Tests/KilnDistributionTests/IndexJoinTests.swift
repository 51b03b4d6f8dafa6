import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// The native fan-out: two `kiln build --platform P --push` runs with their own `$KILN_ROOT`s,
/// as two machines would, then `kiln index create` joins their images into one index without a
/// layer GET (the registry's access log says so); `kiln inspect` and `kiln pull` pick the
/// platforms of that index; skopeo reads it.
@Suite(
    "kiln index create, and inspect/pull of an index",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct IndexJoinTests {
    /// One platform's image as its build pushed it.
    struct Pushed {
        var reference: String
        var digest: String
        var configDigest: String
        var layers: [String]
    }

    /// Runs kiln as the machine whose state (`$KILN_ROOT`, Docker config) is under `directory`.
    static func kiln(_ arguments: [String], machine directory: URL) throws -> KilnBinary.Result {
        try KilnBinary.run(arguments, environment: [
            "KILN_ROOT": directory.appendingPathComponent("kiln-root").path,
            "DOCKER_CONFIG": directory.appendingPathComponent("docker").path,
            "XDG_CONFIG_HOME": directory.appendingPathComponent("xdg").path,
        ])
    }

    /// skopeo's raw bytes of `reference`'s top manifest.
    static func rawManifest(_ reference: String) throws -> Data {
        try DistributionFixtures.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdoutData
    }

    /// A build of `dockerfile` for `platform` on a machine of its own (a fresh `$KILN_ROOT`), pushed to `reference`.
    static func build(_ dockerfile: String, platform: String, pushTo reference: String, in directory: URL) throws -> Pushed {
        let machine = directory.appendingPathComponent("machine-\(UUID().uuidString)")
        let context = machine.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try Data("made for \(platform)\n".utf8).write(to: context.appendingPathComponent("hello"))
        try Data(dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
        let iidfile = machine.appendingPathComponent("iid")
        let result = try kiln(["build", "--progress", "plain", "--platform", platform, "-t", reference, "--push",
                               "--iidfile", iidfile.path, context.path], machine: machine)
        try #require(result.status == 0, "kiln build --platform \(platform): \(result.stderr)")
        let digest = try String(contentsOf: iidfile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let raw = try rawManifest(reference)
        let manifest = try JSONDecoder().decode(Manifest.self, from: raw)
        #expect(Digest.sha256(of: raw).description == digest)
        return Pushed(reference: reference, digest: digest, configDigest: manifest.config.digest.description,
                      layers: manifest.layers.map(\.digest.description))
    }

    /// Two images of two platforms in two repositories of `registry`, from two machines:
    /// amd64 on busybox, arm64 from scratch (a COPY needs no emulation).
    static func fanOut(to registry: TestRegistry, in directory: URL) throws -> (amd64: Pushed, arm64: Pushed) {
        let base = try BaseImages.busybox()
        let seed = directory.appendingPathComponent("seed")
        let pushedBase = try kiln(["push", base.ociReference, "\(registry.host)/base/busybox:1"], machine: seed)
        try #require(pushedBase.status == 0, "\(pushedBase.stderr)")
        let amd64 = try build("FROM \(registry.host)/base/busybox:1\nCOPY hello /hello\n", platform: "linux/amd64",
                              pushTo: "\(registry.host)/app/amd64:1", in: directory)
        let arm64 = try build("FROM scratch\nCOPY hello /hello\n", platform: "linux/arm64",
                              pushTo: "\(registry.host)/app/arm64:1", in: directory)
        return (amd64, arm64)
    }

    /// The `GET …/blobs/<digest>` requests of access-log lines.
    static func blobGets(in log: Substring) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard let start = line.range(of: "\"GET ") else { return nil }
            let target = line[start.upperBound...].prefix { $0 != " " }
            guard let blobs = target.range(of: "/blobs/sha256:") else { return nil }
            return "sha256:" + target[blobs.upperBound...].prefix { $0.isHexDigit }
        }
    }

    /// The digest and platform (`os/arch[/variant]`) of each entry of the index skopeo reads raw.
    static func entries(of reference: String) throws -> (mediaType: String?, entries: [(digest: String, platform: String)]) {
        let raw = try rawManifest(reference)
        let index = try JSONDecoder().decode(Index.self, from: raw)
        return (index.mediaType?.rawValue, index.manifests.map { ($0.digest.description, $0.platform?.description ?? "") })
    }

    @Test("index create joins two builds' images (two KILN_ROOTs) with no layer GET; skopeo reads each platform")
    func joinsFanOut() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let (amd64, arm64) = try Self.fanOut(to: registry, in: directory)
                let logBefore = registry.log().utf8.count
                let target = "\(registry.host)/app:multi"
                let joined = try Self.kiln(["index", "create", target, amd64.reference, arm64.reference],
                                           machine: directory.appendingPathComponent("joiner"))
                try #require(joined.status == 0, "\(joined.stderr)")
                let digest = joined.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

                let raw = try Self.rawManifest(target)
                #expect(Digest.sha256(of: raw).description == digest)
                let index = try Self.entries(of: target)
                #expect(index.mediaType == MediaType.ociIndex.rawValue)
                #expect(index.entries.map(\.digest) == [amd64.digest, arm64.digest])
                #expect(index.entries.map(\.platform) == ["linux/amd64", "linux/arm64/v8"])
                #expect(joined.stderr.contains("linux/amd64") && joined.stderr.contains(arm64.digest), "\(joined.stderr)")

                // Each platform's image reads back through the index (skopeo's Digest is the index's).
                for (arch, image) in [("amd64", amd64), ("arm64", arm64)] {
                    let chosen = try DistributionFixtures.skopeo(
                        ["--override-arch", arch, "--override-os", "linux", "inspect", "--tls-verify=false", "docker://\(target)"])
                    struct Inspection: Decodable { var Digest: String; var Architecture: String; var Layers: [String] }
                    let inspection = try JSONDecoder().decode(Inspection.self, from: chosen.stdoutData)
                    #expect(inspection.Digest == digest)
                    #expect(inspection.Architecture == arch)
                    #expect(inspection.Layers == image.layers)
                }

                // The join read manifests and configs only: every blob it GOT is a config; layers were mounted.
                let log = registry.log()
                let joinLog = log[log.utf8.index(log.startIndex, offsetBy: logBefore)...]
                let gets = Self.blobGets(in: joinLog)
                let layers = Set(amd64.layers + arm64.layers)
                #expect(gets.allSatisfy { !layers.contains($0) }, "a layer was downloaded: \(gets)")
                #expect(Set(gets) == [amd64.configDigest, arm64.configDigest], "the configs give the platforms: \(gets)")
                #expect(joinLog.contains("mount="), "the layers were not mounted into app")
                #expect(!joinLog.contains("\"PATCH "), "blob bytes were uploaded")
                #expect(!joined.stderr.contains("note:"), "nothing was copied: \(joined.stderr)")

                // An index source joins with all its images: the same entries give the same bytes.
                let again = try Self.kiln(["index", "create", "\(registry.host)/app/again:1", target],
                                          machine: directory.appendingPathComponent("joiner"))
                #expect(again.status == 0, "\(again.stderr)")
                #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == digest)
            }
        }
    }

    @Test("Docker schema 2 images join into a Docker manifest list; with an OCI image, an OCI index")
    func familyFollowsImages() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let base = try BaseImages.busybox()
                let arm64 = try DistributionFixtures.busybox(labelled: "linux/arm64", in: directory)
                let armLayout = "oci:\(arm64.layout.location.path):1"
                for (source, destination) in [(base.ociReference, "d/amd64:1"), (armLayout, "d/arm64:1")] {
                    try DistributionFixtures.skopeo(["copy", "--format", "v2s2", "--dest-tls-verify=false", source,
                                                     "docker://\(registry.host)/\(destination)"])
                }
                try DistributionFixtures.skopeo(["copy", "--format", "oci", "--dest-tls-verify=false", armLayout,
                                                 "docker://\(registry.host)/o/arm64:1"])
                let machine = directory.appendingPathComponent("joiner")
                let list = try Self.kiln(["index", "create", "\(registry.host)/d:list", "\(registry.host)/d/amd64:1",
                                          "\(registry.host)/d/arm64:1"], machine: machine)
                try #require(list.status == 0, "\(list.stderr)")
                let listed = try Self.entries(of: "\(registry.host)/d:list")
                #expect(listed.mediaType == MediaType.dockerManifestList.rawValue)
                #expect(listed.entries.map(\.platform) == ["linux/amd64", "linux/arm64/v8"])
                let index = try JSONDecoder().decode(Index.self, from: try Self.rawManifest("\(registry.host)/d:list"))
                #expect(index.manifests.allSatisfy { $0.mediaType == .dockerManifest })
                let chosen = try DistributionFixtures.skopeo(
                    ["--override-arch", "arm64", "--override-os", "linux", "inspect", "--tls-verify=false",
                     "docker://\(registry.host)/d:list"])
                #expect(chosen.stdout.contains("\"Architecture\": \"arm64\""), "\(chosen.stdout)")

                let mixed = try Self.kiln(["index", "create", "\(registry.host)/d:mixed", "\(registry.host)/d/amd64:1",
                                           "\(registry.host)/o/arm64:1"], machine: machine)
                try #require(mixed.status == 0, "\(mixed.stderr)")
                #expect(try Self.entries(of: "\(registry.host)/d:mixed").mediaType == MediaType.ociIndex.rawValue)
            }
        }
    }

    @Test("two images of one platform are refused, naming both; no tag is pushed")
    func samePlatformRefused() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let (amd64, arm64) = try Self.fanOut(to: registry, in: directory)
                let machine = directory.appendingPathComponent("joiner")
                let twin = "\(registry.host)/app/twin:1"
                try #require(try Self.kiln(["copy", amd64.reference, twin], machine: machine).status == 0)
                let target = "\(registry.host)/app:dup"
                let refused = try Self.kiln(["index", "create", target, amd64.reference, arm64.reference, twin], machine: machine)
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("\(amd64.reference)@\(amd64.digest)"), "\(refused.stderr)")
                #expect(refused.stderr.contains("\(twin)@\(amd64.digest)"), "\(refused.stderr)")
                #expect(refused.stderr.contains("both for linux/amd64"), "\(refused.stderr)")
                #expect(registry.requestCount("PUT", path: "/app/manifests/") == 0)

                let pinned = try Self.kiln(["index", "create", "\(registry.host)/app@\(amd64.digest)", arm64.reference],
                                           machine: machine)
                #expect(pinned.status != 0)
                #expect(pinned.stderr.contains("names a digest"), "\(pinned.stderr)")
            }
        }
    }

    @Test("a source on another registry is copied, and the command says so")
    func otherRegistryIsCopied() async throws {
        try await withTestRegistry { registry in
            try await withTestRegistry { other in
                try await DistributionFixtures.withTemporaryDirectory { directory in
                    let arm64 = try Self.build("FROM scratch\nCOPY hello /hello\n", platform: "linux/arm64",
                                               pushTo: "\(other.host)/app/arm64:1", in: directory)
                    let amd64 = try Self.build("FROM scratch\nCOPY hello /hello\n", platform: "linux/amd64",
                                               pushTo: "\(registry.host)/app/amd64:1", in: directory)
                    let target = "\(registry.host)/app:multi"
                    let joined = try Self.kiln(["index", "create", target, amd64.reference, arm64.reference],
                                               machine: directory.appendingPathComponent("joiner"))
                    try #require(joined.status == 0, "\(joined.stderr)")
                    #expect(joined.stderr.contains("note: \(arm64.reference)@\(arm64.digest): its blobs were copied"),
                            "\(joined.stderr)")
                    #expect(joined.stderr.contains("it is on another registry than \(registry.host)"), "\(joined.stderr)")
                    #expect(!joined.stderr.contains("note: \(amd64.reference)"), "\(joined.stderr)")
                    #expect(try Self.entries(of: target).entries.map(\.digest) == [amd64.digest, arm64.digest])
                    let chosen = try DistributionFixtures.skopeo(
                        ["--override-arch", "arm64", "--override-os", "linux", "inspect", "--tls-verify=false", "docker://\(target)"])
                    #expect(chosen.stdout.contains(arm64.layers[0]))
                }
            }
        }
    }

    @Test("inspect lists an index's platforms and shows the one asked for; pull picks it or names what the index has")
    func inspectAndPullPickPlatforms() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let (amd64, arm64) = try Self.fanOut(to: registry, in: directory)
                let machine = directory.appendingPathComponent("joiner")
                let target = "\(registry.host)/app:multi"
                let joined = try Self.kiln(["index", "create", target, amd64.reference, arm64.reference], machine: machine)
                try #require(joined.status == 0, "\(joined.stderr)")
                let digest = joined.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

                let all = try Self.kiln(["inspect", "--platform", "all", target], machine: machine)
                #expect(all.status == 0, "\(all.stderr)")
                #expect(all.stdout.contains("Index:        \(digest)"), "\(all.stdout)")
                let rows = all.stdout.split(separator: "\n").filter { $0.contains("sha256:") && !$0.hasPrefix("Index") }
                #expect(rows.count == 2, "\(all.stdout)")
                #expect(rows.contains { $0.contains("linux/amd64") && $0.contains(amd64.digest) }, "\(all.stdout)")
                #expect(rows.contains { $0.contains("linux/arm64/v8") && $0.contains(arm64.digest) }, "\(all.stdout)")
                #expect(!all.stdout.contains("Layers:"), "--platform all shows no image: \(all.stdout)")

                let arm = try Self.kiln(["inspect", "--platform", "linux/arm64", target], machine: machine)
                #expect(arm.status == 0, "\(arm.stderr)")
                #expect(arm.stdout.contains("Image for linux/arm64/v8:"), "\(arm.stdout)")
                #expect(arm.stdout.contains("Digest:       \(arm64.digest)"), "\(arm.stdout)")
                #expect(arm.stdout.contains("Platform:     linux/arm64/v8"), "\(arm.stdout)")

                let json = try Self.kiln(["inspect", "--format", "json", "--platform", "linux/amd64", target], machine: machine)
                struct Document: Decodable {
                    struct IndexPart: Decodable { var Digest: String }
                    var Digest: String
                    var Index: IndexPart
                }
                let document = try JSONDecoder().decode(Document.self, from: json.stdoutData)
                #expect(document.Digest == amd64.digest)
                #expect(document.Index.Digest == digest)

                let missing = try Self.kiln(["inspect", "--platform", "linux/s390x", target], machine: machine)
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("no image for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8)"),
                        "\(missing.stderr)")

                // The same index in an OCI layout is shown the same way.
                let copied = directory.appendingPathComponent("copied")
                try DistributionFixtures.skopeo(["copy", "--all", "--src-tls-verify=false", "docker://\(target)",
                                                 "oci:\(copied.path):multi"])
                let local = "oci:\(copied.path):multi"
                let localAll = try Self.kiln(["inspect", "--platform", "all", local], machine: machine)
                #expect(localAll.status == 0, "\(localAll.stderr)")
                #expect(localAll.stdout == all.stdout)
                let localArm = try Self.kiln(["inspect", "--platform", "linux/arm64", local], machine: machine)
                #expect(localArm.stdout.contains("Digest:       \(arm64.digest)"), "\(localArm.stdout)")
                let localRaw = try Self.kiln(["inspect", "--raw", local], machine: machine)
                #expect(localRaw.stdoutData == (try Self.rawManifest(target)))
                let localMissing = try Self.kiln(["inspect", "--platform", "linux/s390x", local], machine: machine)
                #expect(localMissing.status != 0)
                #expect(localMissing.stderr.contains("(the index has: linux/amd64, linux/arm64/v8)"), "\(localMissing.stderr)")

                let layout = directory.appendingPathComponent("pulled")
                let pulled = try Self.kiln(["pull", "--platform", "linux/arm64", target, "--output", "type=oci,dest=\(layout.path)"],
                                           machine: machine)
                #expect(pulled.status == 0, "\(pulled.stderr)")
                #expect(pulled.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == arm64.digest)
                let pulledImage = try DistributionFixtures.skopeo(["inspect", "oci:\(layout.path):multi"])
                #expect(pulledImage.stdout.contains("\"Digest\": \"\(arm64.digest)\""), "\(pulledImage.stdout)")

                let absent = directory.appendingPathComponent("absent")
                let refused = try Self.kiln(["pull", "--platform", "linux/s390x", target, "--output", "type=oci,dest=\(absent.path)"],
                                            machine: machine)
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("no image for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8)"),
                        "\(refused.stderr)")
                #expect(!FileManager.default.fileExists(atPath: absent.path))
            }
        }
    }
}
