import Foundation
import KilnTestSupport
import Testing

/// A `FROM` image must have the platform its stage is built for (the build's `--platform`, or
/// the FROM's own `--platform`): an index without it, or a single-platform image of another
/// platform, is a Dockerfile error at the FROM naming what the image has. What is built is
/// labelled with the requested platform, variant included, in the config and the index.
@Suite("platforms: FROM must have the requested platform; variants kept", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct PlatformRuleTests {
    let harness: BuildHarness
    var bases: FormatBases { FormatBases(harness: harness) }

    init() throws {
        harness = try BuildHarness()
        try Data("hello\n".utf8).write(to: harness.context.appendingPathComponent("hello"))
    }

    /// Builds `dockerfile` into a fresh OCI layout; returns the result, the layout and its image.
    func build(_ dockerfile: String, _ flags: [String]) throws -> (result: KilnBinary.Result, layout: URL, image: ImageDocuments?) {
        let file = harness.directory.appendingPathComponent("Dockerfile-\(UUID().uuidString)")
        try Data(dockerfile.utf8).write(to: file)
        let layout = harness.directory.appendingPathComponent("out-\(UUID().uuidString)")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path, "--output", "type=oci,dest=\(layout.path),name=v1"] + flags
                + [harness.context.path], environment: ["KILN_ROOT": harness.root.url.path])
        return (result, layout, result.status == 0 ? try ImageDocuments.layout(layout, refName: "v1") : nil)
    }

    /// The index entry's `platform` as `os/arch[/variant]`.
    static func indexPlatform(_ image: ImageDocuments?) -> String {
        let platform = image?.indexEntry?["platform"] as? [String: Any] ?? [:]
        return [platform["os"] as? String, platform["architecture"] as? String, platform["variant"] as? String]
            .compactMap { $0 }.joined(separator: "/")
    }

    @Test("an index without the requested platform fails at the FROM, naming the platforms it has")
    func indexWithoutPlatform() async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(platforms: ["linux/amd64", "linux/arm/v7"], as: "multi", to: registry)
            let (result, layout, _) = try build("# platforms\nFROM \(base)\nCOPY hello /hello\n", ["--platform", "linux/arm64"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("Dockerfile-"), "\(result.stderr)")
            #expect(result.stderr.contains(":2:6: error:"), "\(result.stderr)")
            #expect(result.stderr.contains("no image for platform linux/arm64/v8 (it has: linux/amd64, linux/arm/v7)"), "\(result.stderr)")
            #expect(result.stderr.contains("FROM \(base)"), "the line is shown: \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: layout.path))
        }
    }

    @Test("an index with the platform gives that manifest; arm/v7 is kept in the config and the index", arguments: [
        ("linux/arm/v7", "linux/arm/v7"), ("linux/arm", "linux/arm/v7"), ("linux/amd64", "linux/amd64"),
    ])
    func indexWithPlatform(requested: String, labelled: String) async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(platforms: ["linux/amd64", "linux/arm/v7"], as: "multi", to: registry)
            let (result, _, image) = try build("FROM \(base)\nCOPY hello /hello\n", ["--platform", requested])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(image?.configPlatform == labelled)
            #expect(Self.indexPlatform(image) == labelled)
        }
    }

    @Test("an index in a layout named context is narrowed to the platform the same way")
    func layoutIndex() throws {
        let layout = try bases.layout(platforms: ["linux/amd64", "linux/arm/v7"])
        let context = ["--build-context", "base=oci-layout://\(layout.path):1"]
        let missing = try build("FROM base\nCOPY hello /hello\n", ["--platform", "linux/arm64"] + context)
        #expect(missing.result.status != 0)
        #expect(missing.result.stderr.contains(":1:6: error: base has no image for platform linux/arm64/v8 (it has: linux/amd64, linux/arm/v7)"),
                "\(missing.result.stderr)")
        let arm = try build("FROM base\nCOPY hello /hello\n", ["--platform", "linux/arm/v7"] + context)
        #expect(arm.result.status == 0, "\(arm.result.stderr)")
        #expect(arm.image?.configPlatform == "linux/arm/v7")
        #expect(Self.indexPlatform(arm.image) == "linux/arm/v7")
    }

    @Test("a single-platform amd64 base refuses linux/arm64 (registry and named context), naming linux/amd64")
    func singleManifestOfAnotherPlatform() async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(.oci, to: registry)
            let (result, _, _) = try build("FROM \(base)\nCOPY hello /hello\n", ["--platform", "linux/arm64"])
            #expect(result.status != 0)
            #expect(result.stderr.contains(":1:6: error:") && result.stderr.contains("(it has: linux/amd64)"), "\(result.stderr)")
            // COPY --from an image is held to the same rule, reported at its --from.
            let copied = try build("FROM scratch\nCOPY --from=\(base) /bin/busybox /busybox\n", ["--platform", "linux/arm64"])
            #expect(copied.result.status != 0)
            #expect(copied.result.stderr.contains(":2:6: error: \(base) has no image for platform linux/arm64/v8 (it has: linux/amd64)"),
                    "\(copied.result.stderr)")
        }
        let context = "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"
        let (result, _, _) = try build("FROM busybox\nCOPY hello /hello\n", ["--platform", "linux/arm64", "--build-context", context])
        #expect(result.status != 0)
        #expect(result.stderr.contains(":1:6: error:") && result.stderr.contains("(it has: linux/amd64)"), "\(result.stderr)")
    }

    @Test("linux/amd64/v2 builds on an amd64 (v1) base and keeps v2 in the config and the index; v3 needs a v3-capable base")
    func amd64LevelsAreKept() async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(.docker, to: registry)
            let (result, _, image) = try build("FROM \(base)\nCOPY hello /hello\n", ["--platform", "linux/amd64/v2"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(image?.configPlatform == "linux/amd64/v2")
            #expect(Self.indexPlatform(image) == "linux/amd64/v2")

            let v3 = try bases.push(platforms: ["linux/amd64/v3"], as: "v3-only", to: registry)
            let older = try build("FROM \(v3)\nCOPY hello /hello\n", ["--platform", "linux/amd64/v2"])
            #expect(older.result.status != 0)
            #expect(older.result.stderr.contains("(it has: linux/amd64/v3)"), "\(older.result.stderr)")
        }
        let scratch = try build("FROM scratch\nCOPY hello /hello\n", ["--platform", "linux/amd64/v2"])
        #expect(scratch.result.status == 0, "\(scratch.result.stderr)")
        #expect(scratch.image?.configPlatform == "linux/amd64/v2")
        #expect(Self.indexPlatform(scratch.image) == "linux/amd64/v2")
    }

    @Test("FROM --platform=$BUILDPLATFORM is resolved for the build platform: a cross-build from an amd64-only base works")
    func fromPlatformCrossBuild() async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(.oci, to: registry)
            let dockerfile = """
                FROM --platform=$BUILDPLATFORM \(base) AS tools
                COPY hello /made-on-build-platform
                FROM scratch
                COPY --from=tools /made-on-build-platform /hello

                """
            let (result, _, image) = try build(dockerfile, ["--platform", "linux/arm64"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(image?.configPlatform == "linux/arm64/v8")
            // One image named for two platforms: each stage gets its own platform's manifest.
            let multi = try bases.push(platforms: ["linux/amd64", "linux/arm/v7"], as: "marked", to: registry, marked: true)
            let both = try build("""
                FROM --platform=$BUILDPLATFORM \(multi) AS tools
                FROM \(multi)
                COPY --from=tools /platform /tools-platform

                """, ["--platform", "linux/arm/v7"])
            #expect(both.result.status == 0, "\(both.result.stderr)")
            #expect(both.image?.configPlatform == "linux/arm/v7")
            let bundle = harness.directory.appendingPathComponent("bundle-marked")
            try ProcessRunner.checked("umoci", ["unpack", "--image", "\(both.layout.path):v1", bundle.path])
            #expect(try String(contentsOf: bundle.appendingPathComponent("rootfs/platform"), encoding: .utf8) == "linux/arm/v7")
            #expect(try String(contentsOf: bundle.appendingPathComponent("rootfs/tools-platform"), encoding: .utf8) == "linux/amd64")

            // A FROM naming a platform its image lacks is refused like the build's --platform.
            let stated = try build("FROM --platform=linux/arm64 \(base)\nCOPY hello /hello\n", [])
            #expect(stated.result.status != 0)
            #expect(stated.result.stderr.contains("no image for platform linux/arm64/v8 (it has: linux/amd64)"), "\(stated.result.stderr)")
        }
    }
}
