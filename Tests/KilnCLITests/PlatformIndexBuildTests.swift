import Foundation
import KilnTestSupport
import Testing

/// `kiln build --platform A,B`: one image per platform joined by one index, written to an OCI
/// layout or pushed, each image the one `--platform` alone builds. The Dockerfile runs no RUN,
/// so no emulator is needed.
@Suite(
    "Multi-platform builds",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct PlatformIndexBuildTests {
    /// A context whose Dockerfile copies a file chosen by `TARGETARCH`, so each platform's
    /// image differs in content as well as in its config.
    static func makeContext(in directory: URL) throws -> URL {
        let context = directory.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try Data("""
            FROM scratch
            ARG TARGETARCH
            COPY hello-${TARGETARCH}.txt /hello.txt
            LABEL arch=${TARGETARCH}

            """.utf8).write(to: context.appendingPathComponent("Dockerfile"))
        for arch in ["amd64", "arm64"] {
            try Data("hello from \(arch)\n".utf8).write(to: context.appendingPathComponent("hello-\(arch).txt"))
        }
        return context
    }

    static func environment(_ directory: URL) -> [String: String] {
        RegistryCommandTests.environment(directory).merging(["SOURCE_DATE_EPOCH": "0"]) { $1 }
    }

    static func kiln(_ arguments: [String], in directory: URL) throws -> KilnBinary.Result {
        let result = try KilnBinary.run(arguments, environment: environment(directory))
        #expect(result.status == 0, "kiln \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    static func json(_ file: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    }

    static func blob(_ digest: String, in layout: URL) -> URL {
        layout.appendingPathComponent("blobs/sha256/" + digest.dropFirst("sha256:".count))
    }

    /// The manifest digest of the image skopeo picks out of `source` for `architecture`.
    static func pickedDigest(_ source: String, _ architecture: String, in directory: URL) throws -> String {
        let copy = directory.appendingPathComponent("picked-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        _ = try RegistryCommandTests.skopeo(["copy", "--src-tls-verify=false", "--override-arch", architecture, source, "dir:\(copy.path)"])
        return try RegistryCommandTests.skopeo(["manifest-digest", copy.appendingPathComponent("manifest.json").path])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("two platforms: one index in the layout, each image the one --platform alone builds, metadata and iidfile name the index")
    func layoutIndex() async throws {
        try await RegistryCommandTests.withDirectory { directory in
            let context = try Self.makeContext(in: directory)
            let layout = directory.appendingPathComponent("multi")
            let metadataFile = directory.appendingPathComponent("metadata.json")
            let iidfile = directory.appendingPathComponent("iid")
            let built = try Self.kiln(["build", context.path, "--platform", "linux/amd64,linux/arm64",
                                       "--output", "type=oci,dest=\(layout.path),name=v1",
                                       "--metadata-file", metadataFile.path, "--iidfile", iidfile.path], in: directory)

            // The layout lists one entry: the index, under the name.
            let top = try Self.json(layout.appendingPathComponent("index.json"))
            let entries = try #require(top["manifests"] as? [[String: Any]])
            try #require(entries.count == 1)
            #expect(entries[0]["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
            #expect((entries[0]["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "v1")
            let indexDigest = try #require(entries[0]["digest"] as? String)
            #expect(try String(contentsOf: iidfile, encoding: .utf8) == indexDigest)
            #expect(built.stdout.contains("index \(indexDigest)"))

            // The index: one image per platform, each labelled with what its config says.
            let index = try Self.json(Self.blob(indexDigest, in: layout))
            let children = try #require(index["manifests"] as? [[String: Any]])
            let platforms = children.map { ($0["platform"] as? [String: Any]).map { "\($0["os"] ?? "")/\($0["architecture"] ?? "")" } }
            #expect(platforms == ["linux/amd64", "linux/arm64"])
            var childDigests: [String: String] = [:]
            for child in children {
                let digest = try #require(child["digest"] as? String)
                let architecture = try #require((child["platform"] as? [String: Any])?["architecture"] as? String)
                childDigests[architecture] = digest
                let manifest = try Self.json(Self.blob(digest, in: layout))
                let configDigest = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
                let config = try Self.json(Self.blob(configDigest, in: layout))
                #expect(config["architecture"] as? String == architecture)
                #expect(((config["config"] as? [String: Any])?["Labels"] as? [String: String])?["arch"] == architecture)
            }
            let schemaErrors = try OCISchema.errors(
                [("application/vnd.oci.image.index.v1+json", Self.blob(indexDigest, in: layout)),
                 ("application/vnd.oci.image.index.v1+json", layout.appendingPathComponent("index.json"))]
                + childDigests.values.map { ("application/vnd.oci.image.manifest.v1+json", Self.blob($0, in: layout)) })
            #expect(schemaErrors.isEmpty, "\(schemaErrors)")

            // skopeo picks each platform out of the index; the arm64 image holds the arm64 file.
            for architecture in ["amd64", "arm64"] {
                let picked = try RegistryCommandTests.skopeo(["inspect", "--override-arch", architecture, "oci:\(layout.path):v1"])
                let inspection = try #require(try JSONSerialization.jsonObject(with: picked.stdoutData) as? [String: Any])
                #expect(inspection["Architecture"] as? String == architecture)
                #expect(try Self.pickedDigest("oci:\(layout.path):v1", architecture, in: directory) == childDigests[architecture])
            }
            let unpacked = directory.appendingPathComponent("arm64-dir")
            _ = try RegistryCommandTests.skopeo(["copy", "--override-arch", "arm64", "oci:\(layout.path):v1", "dir:\(unpacked.path)"])
            let armManifest = try Self.json(unpacked.appendingPathComponent("manifest.json"))
            let layer = try #require((armManifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)
            let listing = try ProcessRunner.checked("tar", ["-xzOf", unpacked.appendingPathComponent(String(layer.dropFirst(7))).path, "hello.txt"])
            #expect(listing.stdout == "hello from arm64\n")

            // Each image is the one a single-platform build gives.
            for architecture in ["amd64", "arm64"] {
                let single = try Self.kiln(["build", context.path, "--platform", "linux/\(architecture)",
                                            "--output", "type=oci,dest=\(directory.path)/single-\(architecture)",
                                            "--iidfile", "\(directory.path)/iid-\(architecture)"], in: directory)
                #expect(single.status == 0)
                #expect(try String(contentsOfFile: "\(directory.path)/iid-\(architecture)", encoding: .utf8) == childDigests[architecture])
            }

            // The metadata names the index and each platform's image; every step names its platform.
            let metadata = try Self.json(metadataFile)
            #expect(metadata["containerimage.digest"] as? String == indexDigest)
            #expect(metadata["containerimage.config.digest"] == nil)
            let listed = try #require(metadata["kiln.platforms"] as? [[String: Any]])
            #expect(listed.map { $0["platform"] as? String } == ["linux/amd64", "linux/arm64"])
            #expect(listed.map { $0["containerimage.digest"] as? String } == [childDigests["amd64"], childDigests["arm64"]])
            let steps = try #require(metadata["kiln.steps"] as? [[String: Any]])
            #expect(!steps.isEmpty)
        }
    }

    @Test("two platforms into a docker-archive: refused before anything is built, nothing written")
    func dockerArchiveRefused() async throws {
        try await RegistryCommandTests.withDirectory { directory in
            let context = try Self.makeContext(in: directory)
            let archive = directory.appendingPathComponent("out/image.tar")
            let result = try KilnBinary.run(["build", context.path, "--platform", "linux/amd64,linux/arm64",
                                             "--output", "type=docker,dest=\(archive.path)"], environment: Self.environment(directory))
            #expect(result.status != 0)
            #expect(result.stderr.contains("holds one image of one platform"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: archive.deletingLastPathComponent().path))
            // Nothing was built: the root holds no blob.
            let blobs = directory.appendingPathComponent("kiln-root/blobs/sha256")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []).isEmpty)
        }
    }

    @Test("--platform with a malformed entry names it")
    func malformedPlatformList() async throws {
        try await RegistryCommandTests.withDirectory { directory in
            let context = try Self.makeContext(in: directory)
            let result = try KilnBinary.run(["build", context.path, "--platform", "linux/amd64,arm64-linux/"],
                                            environment: Self.environment(directory))
            #expect(result.status != 0)
            #expect(result.stderr.contains("\"arm64-linux/\""), "\(result.stderr)")
        }
    }

    @Test(
        "--push of two platforms: the tag names an index whose images are in the repository by digest",
        .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
    func pushIndex() async throws {
        try await withTestRegistry { registry in
            try await RegistryCommandTests.withDirectory { directory in
                let context = try Self.makeContext(in: directory)
                let reference = "\(registry.host)/multi/app:v1"
                let metadataFile = directory.appendingPathComponent("metadata.json")
                _ = try Self.kiln(["build", context.path, "--platform", "linux/amd64,linux/arm64", "--push", "-t", reference,
                                   "--metadata-file", metadataFile.path], in: directory)
                let metadata = try Self.json(metadataFile)
                let raw = try RegistryCommandTests.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
                let index = try #require(try JSONSerialization.jsonObject(with: raw.stdoutData) as? [String: Any])
                #expect(index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
                let rawFile = directory.appendingPathComponent("index-raw.json")
                try raw.stdoutData.write(to: rawFile)
                let rawDigest = try RegistryCommandTests.skopeo(["manifest-digest", rawFile.path]).stdout
                #expect(rawDigest.trimmingCharacters(in: .whitespacesAndNewlines) == metadata["containerimage.digest"] as? String)
                let listed = try #require(metadata["kiln.platforms"] as? [[String: Any]])
                for (architecture, entry) in zip(["amd64", "arm64"], listed) {
                    let picked = try RegistryCommandTests.skopeo(["inspect", "--tls-verify=false", "--override-arch", architecture,
                                                                  "docker://\(reference)"])
                    let inspection = try #require(try JSONSerialization.jsonObject(with: picked.stdoutData) as? [String: Any])
                    #expect(inspection["Architecture"] as? String == architecture)
                    #expect(try Self.pickedDigest("docker://\(reference)", architecture, in: directory)
                        == entry["containerimage.digest"] as? String)
                }
            }
        }
    }
}
