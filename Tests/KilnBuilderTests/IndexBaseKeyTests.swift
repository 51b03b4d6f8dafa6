import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// A base image that is an index is keyed by the manifest of the platform the stage is built
/// for, never by the index: the index may gain a platform (a new digest) and every step on the
/// unchanged platform's image is still a hit; the platform's own image changing is a miss.
@Suite("index bases: keys hold the platform's manifest digest", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct IndexBaseKeyTests {
    let harness: BuildHarness
    var bases: FormatBases { FormatBases(harness: harness) }

    init() throws {
        harness = try BuildHarness()
        try Data("hello\n".utf8).write(to: harness.context.appendingPathComponent("hello"))
    }

    /// One build's `--metadata-file`: the base's digest and the COPY step's status and key.
    struct Outcome {
        var base: String
        var copyStatus: String
        var copyKey: String
    }

    func build(_ dockerfile: String, platform: String) throws -> Outcome {
        let file = harness.directory.appendingPathComponent("Dockerfile-\(UUID().uuidString)")
        try Data(dockerfile.utf8).write(to: file)
        let metadata = harness.directory.appendingPathComponent("metadata-\(UUID().uuidString).json")
        let layout = harness.directory.appendingPathComponent("out-\(UUID().uuidString)")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path, "--platform", platform, "--metadata-file", metadata.path,
             "--output", "type=oci,dest=\(layout.path),name=v1", harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
        try #require(result.status == 0, "\(result.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any] ?? [:]
        let bases = document["kiln.baseImages"] as? [String: String] ?? [:]
        let steps = document["kiln.steps"] as? [[String: Any]] ?? []
        let copy = steps.first { (($0["step"] as? [String: Any])?["text"] as? String ?? "").hasPrefix("COPY") } ?? [:]
        return Outcome(base: bases.values.first ?? "", copyStatus: copy["status"] as? String ?? "",
                       copyKey: copy["cacheKey"] as? String ?? "")
    }

    /// The digest of the `linux/<architecture>[/<variant>]` entry of the index `reference`, read raw.
    static func platformDigest(_ reference: String, architecture: String, variant: String?) throws -> String {
        let raw = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
        let index = try JSONDecoder().decode(Index.self, from: raw.stdoutData)
        let wanted = Platform(os: "linux", architecture: architecture, variant: variant)
        return try #require(index.manifests.first { $0.platform == wanted }).digest.description
    }

    @Test("an index gaining a platform keeps the other platforms' steps cached; the platform's own image changing misses")
    func keyedByPlatformManifest() async throws {
        try await withTestRegistry { registry in
            let dockerfile = "FROM \(registry.host)/base/multi:1\nCOPY hello /hello\n"
            let base = try bases.push(platforms: ["linux/amd64", "linux/arm/v7"], as: "multi", to: registry)
            let armDigest = try Self.platformDigest(base, architecture: "arm", variant: "v7")
            let first = try build(dockerfile, platform: "linux/arm/v7")
            #expect(first.base == armDigest, "the build records the platform's manifest, not the index")
            #expect(first.copyStatus == "executed")

            // A new platform: a new index digest, the arm/v7 manifest unchanged.
            let indexBefore = Digest.sha256(of: try ProcessRunner.checked(
                "skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(base)"]).stdoutData)
            _ = try bases.push(platforms: ["linux/amd64", "linux/arm/v7", "linux/arm64"], as: "multi", to: registry)
            let indexAfter = Digest.sha256(of: try ProcessRunner.checked(
                "skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(base)"]).stdoutData)
            #expect(indexBefore != indexAfter)
            #expect(try Self.platformDigest(base, architecture: "arm", variant: "v7") == armDigest)
            let second = try build(dockerfile, platform: "linux/arm/v7")
            #expect(second.base == armDigest)
            #expect(second.copyStatus == "cached", "the index's new digest must not miss an unchanged platform")
            #expect(second.copyKey == first.copyKey)

            // The arm/v7 image itself changes (marked with its platform): its steps miss.
            _ = try bases.push(platforms: ["linux/amd64", "linux/arm/v7"], as: "multi", to: registry, marked: true)
            let changed = try Self.platformDigest(base, architecture: "arm", variant: "v7")
            #expect(changed != armDigest)
            let third = try build(dockerfile, platform: "linux/arm/v7")
            #expect(third.base == changed)
            #expect(third.copyStatus == "executed")
            #expect(third.copyKey != first.copyKey)
        }
    }
}
