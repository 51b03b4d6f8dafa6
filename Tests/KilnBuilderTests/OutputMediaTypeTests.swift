import Foundation
import KilnTestSupport
import Testing

/// One media-type family per manifest: OCI throughout by default whatever the base was,
/// Docker's schema 2 throughout with `oci-mediatypes=false`; zstd with Docker types refused
/// before anything is built.
@Suite("output media types: one family per manifest", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct OutputMediaTypeTests {
    let harness: BuildHarness
    var bases: FormatBases { FormatBases(harness: harness) }

    init() throws {
        harness = try BuildHarness()
        try Data("hello\n".utf8).write(to: harness.context.appendingPathComponent("hello"))
    }

    func build(from base: String, _ flags: [String]) throws -> KilnBinary.Result {
        let file = harness.directory.appendingPathComponent("Dockerfile-\(UUID().uuidString)")
        try Data("FROM \(base)\nCOPY hello /hello\nCMD [\"cat\", \"/hello\"]\n".utf8).write(to: file)
        return try KilnBinary.run(["build", "--progress", "plain", "-f", file.path] + flags + [harness.context.path],
                                  environment: ["KILN_ROOT": harness.root.url.path])
    }

    @Test("OCI outputs of a build FROM a Docker or OCI base list OCI types only; the base's layer blobs are the same bytes",
          arguments: FormatBases.Format.allCases)
    func ociThroughout(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(format, to: registry)
            let baseImage = try ImageDocuments.registry(base)
            #expect(baseImage.allMediaTypes(format == .docker ? "application/vnd.docker." : "application/vnd.oci."))
            let layout = harness.directory.appendingPathComponent("out-\(format)")
            let pushed = "\(registry.host)/out/\(format):oci"
            let result = try build(from: base, ["--output", "type=oci,dest=\(layout.path),name=v1", "--output", "type=registry,name=\(pushed)"])
            #expect(result.status == 0, "\(result.stderr)")
            for image in [try ImageDocuments.layout(layout, refName: "v1"), try ImageDocuments.registry(pushed)] {
                #expect(image.allMediaTypes("application/vnd.oci."), "\(image.mediaTypes)")
                #expect(Array(image.layerDigests.prefix(baseImage.layerDigests.count)) == baseImage.layerDigests)
                #expect((image.indexEntry?["mediaType"] as? String).map { $0 == "application/vnd.oci.image.manifest.v1+json" } ?? true)
            }
            // The documents Kiln wrote pass the OCI schemas.
            let documents = try ImageDocuments.layout(layout, refName: "v1")
            let manifest = harness.directory.appendingPathComponent("manifest-\(format).json")
            let config = harness.directory.appendingPathComponent("config-\(format).json")
            try documents.rawManifest.write(to: manifest)
            try documents.rawConfig.write(to: config)
            let errors = try OCISchema.errors([
                ("application/vnd.oci.image.manifest.v1+json", manifest), ("application/vnd.oci.image.config.v1+json", config),
                ("application/vnd.oci.image.index.v1+json", layout.appendingPathComponent("index.json")),
            ])
            #expect(errors.isEmpty, "\(errors)")
        }
    }

    @Test("oci-mediatypes=false: Docker schema 2 types throughout, in --output and joined by --push", arguments: FormatBases.Format.allCases)
    func dockerThroughout(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(format, to: registry)
            let output = "\(registry.host)/out/\(format):docker"
            let viaOutput = try build(from: base, ["--output", "type=registry,name=\(output),oci-mediatypes=false"])
            #expect(viaOutput.status == 0, "\(viaOutput.stderr)")
            let pushed = "\(registry.host)/out/\(format):pushed"
            let viaPush = try build(from: base, ["-t", pushed, "--push", "--output", "type=image,oci-mediatypes=false"])
            #expect(viaPush.status == 0, "\(viaPush.stderr)")
            #expect(registry.requestCount("PUT", path: "/out/\(format)/manifests/pushed") == 1, "pushed once")
            for reference in [output, pushed] {
                let image = try ImageDocuments.registry(reference)
                #expect(image.allMediaTypes("application/vnd.docker."), "\(image.mediaTypes)")
                #expect(image.manifest["annotations"] == nil)
            }
        }
    }

    @Test("compression=zstd with oci-mediatypes=false is refused before the build starts", arguments: [
        ["--compression", "zstd", "--output", "type=registry,name=REF,oci-mediatypes=false"],
        ["--output", "type=registry,name=REF,oci-mediatypes=false,compression=zstd"],
        ["--output", "type=oci,dest=LAYOUT,oci-mediatypes=false", "--output", "type=registry,name=REF,compression=zstd"],
    ])
    func zstdNeedsOCITypes(flags: [String]) async throws {
        try await withTestRegistry { registry in
            let base = try bases.push(.oci, to: registry)
            let reference = "\(registry.host)/out/zstd:v1"
            let layout = harness.directory.appendingPathComponent("zstd-layout")
            let baseReads = registry.requestCount("GET", path: "/base/")
            let result = try build(from: base, flags.map {
                $0.replacingOccurrences(of: "REF", with: reference).replacingOccurrences(of: "LAYOUT", with: layout.path)
            })
            #expect(result.status != 0)
            #expect(result.stderr.contains("compression=zstd needs OCI media types"), "\(result.stderr)")
            #expect(!result.stderr.contains("COPY hello"), "no step started: \(result.stderr)")
            #expect(registry.requestCount("GET", path: "/base/") == baseReads, "not even the base was resolved")
            #expect(registry.requestCount("PUT", path: "/out/") == 0)
            #expect(!FileManager.default.fileExists(atPath: layout.path))
        }
    }

    @Test("a zstd base layer cannot go into a Docker manifest: refused before any step runs; fine with OCI types")
    func zstdBaseNeedsOCITypes() async throws {
        try await withTestRegistry { registry in
            let base = "\(registry.host)/base/busybox-zstd:1"
            try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", "--format", "oci", "--dest-compress",
                                                 "--dest-compress-format", "zstd", harness.base.ociReference, "docker://\(base)"])
            #expect(try ImageDocuments.registry(base).layers.allSatisfy { $0["mediaType"] as? String == "application/vnd.oci.image.layer.v1.tar+zstd" })
            let refused = try build(from: base, ["--output", "type=registry,name=\(registry.host)/out/zstd:docker,oci-mediatypes=false"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("base image \(base): a zstd-compressed layer"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("COPY hello"), "no step started: \(refused.stderr)")
            let oci = "\(registry.host)/out/zstd:oci"
            let accepted = try build(from: base, ["--output", "type=registry,name=\(oci)"])
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(try ImageDocuments.registry(oci).allMediaTypes("application/vnd.oci."))
        }
    }

    @Test("outputs that disagree on oci-mediatypes are refused: one build writes one image")
    func outputsMustAgree() throws {
        let result = try build(from: "busybox", [
            "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("a").path)",
            "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("b").path),oci-mediatypes=true",
            "--output", "type=docker,dest=\(harness.directory.appendingPathComponent("c.tar").path),oci-mediatypes=false",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("disagree on oci-mediatypes"), "\(result.stderr)")
        let badValue = try build(from: "busybox", ["--output", "type=oci,dest=/nonexistent/x,oci-mediatypes=maybe"])
        #expect(badValue.stderr.contains("oci-mediatypes must be true or false"), "\(badValue.stderr)")
    }
}
