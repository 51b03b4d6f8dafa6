import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

/// Kiln's client and skopeo (containers/image) must read each other's pushes byte for byte.
@Suite(
    "Interoperability with skopeo",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct SkopeoInteropTests {
    static let skopeo = URL(fileURLWithPath: "/usr/bin/skopeo")

    @Test("skopeo inspects and copies out an image Kiln pushed")
    func kilnPushSkopeoReads() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry, monolithicLimit: 1 << 20, chunkSize: 1 << 20)
                let layer = try Self.gzipLayer(in: directory, payloadSize: 3 << 20)
                let config = try CanonicalJSON.blob(ImageConfig(platform: .host, rootfs: RootFS(diffIDs: [layer.diffID])))
                try await client.pushBlob(data: config.bytes, to: "kiln/interop")
                try await client.pushBlob(file: layer.url, digest: layer.digest, size: layer.size, to: "kiln/interop")
                let manifest = Manifest(
                    config: config.descriptor(mediaType: .ociConfig),
                    layers: [Descriptor(mediaType: .ociLayerGzip, digest: layer.digest, size: layer.size)])
                let pushed = try await client.pushManifest(manifest, to: .tag("v1"), in: "kiln/interop")

                let image = "docker://\(registry.host)/kiln/interop:v1"
                let inspect = try ProcessRunner.run(Self.skopeo, ["inspect", "--tls-verify=false", image])
                #expect(inspect.status == 0, "\(inspect.stderr)")
                struct Inspection: Decodable {
                    var Digest: String
                    var Layers: [String]
                    var Architecture: String
                }
                let inspection = try JSONDecoder().decode(Inspection.self, from: inspect.stdoutData)
                #expect(inspection.Digest == pushed.digest.description)
                #expect(inspection.Layers == [layer.digest.description])
                #expect(inspection.Architecture == Platform.host.architecture)

                let raw = try ProcessRunner.run(Self.skopeo, ["inspect", "--raw", "--tls-verify=false", image])
                #expect(raw.stdoutData == (try CanonicalJSON.encode(manifest)))

                let out = directory.appendingPathComponent("out")
                let copy = try ProcessRunner.run(
                    Self.skopeo, ["--insecure-policy", "copy", "--src-tls-verify=false", image, "dir:\(out.path)"])
                #expect(copy.status == 0, "\(copy.stderr)")
                let copiedLayer = out.appendingPathComponent(layer.digest.encoded)
                #expect(try Data(contentsOf: copiedLayer) == Data(contentsOf: layer.url))
            }
        }
    }

    @Test("Kiln pulls, verified, an image skopeo pushed from an OCI layout")
    func skopeoPushKilnReads() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let layer = try Self.gzipLayer(in: directory, payloadSize: 2 << 20)
                let config = try CanonicalJSON.blob(ImageConfig(platform: .host, rootfs: RootFS(diffIDs: [layer.diffID])))
                let manifest = Manifest(
                    config: config.descriptor(mediaType: .ociConfig),
                    layers: [Descriptor(mediaType: .ociLayerGzip, digest: layer.digest, size: layer.size)])
                let manifestBlob = try CanonicalJSON.blob(manifest)
                let layout = directory.appendingPathComponent("layout")
                let blobs = layout.appendingPathComponent("blobs/sha256")
                try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
                try config.bytes.write(to: blobs.appendingPathComponent(config.digest.encoded))
                try manifestBlob.bytes.write(to: blobs.appendingPathComponent(manifestBlob.digest.encoded))
                try FileManager.default.copyItem(at: layer.url, to: blobs.appendingPathComponent(layer.digest.encoded))
                try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: layout.appendingPathComponent("oci-layout"))
                let index = Index(manifests: [
                    manifestBlob.descriptor(mediaType: .ociManifest, annotations: ["org.opencontainers.image.ref.name": "v2"])
                ])
                try CanonicalJSON.encode(index).write(to: layout.appendingPathComponent("index.json"))

                let copy = try ProcessRunner.run(Self.skopeo, [
                    "--insecure-policy", "copy", "--dest-tls-verify=false", "oci:\(layout.path):v2",
                    "docker://\(registry.host)/kiln/from-skopeo:v2",
                ])
                #expect(copy.status == 0, "\(copy.stderr)")

                let client = RegistryTestFixtures.client(registry)
                let pulled = try await client.fetchImageManifest(.tag("v2"), in: "kiln/from-skopeo")
                #expect(pulled.manifest.digest == manifestBlob.digest)
                let pulledManifest = try pulled.manifest.manifest()
                let pulledConfig = try await client.fetchBlobData(
                    pulledManifest.config.digest, size: pulledManifest.config.size, from: "kiln/from-skopeo")
                #expect(pulledConfig == config.bytes)
                let pulledLayer = directory.appendingPathComponent("pulled-layer")
                let descriptor = try #require(pulledManifest.layers.first)
                try await client.fetchBlob(descriptor.digest, size: descriptor.size, from: "kiln/from-skopeo", to: pulledLayer)
                #expect(try Data(contentsOf: pulledLayer) == Data(contentsOf: layer.url))
            }
        }
    }

    /// A real gzip-compressed tar of random files, so that skopeo copies it as is instead of
    /// compressing it; returns its digest, size and diff ID.
    static func gzipLayer(in directory: URL, payloadSize: Int) throws -> (url: URL, digest: Digest, size: Int64, diffID: Digest) {
        let root = directory.appendingPathComponent("layer-root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        _ = try RegistryTestFixtures.randomBlob(size: payloadSize, in: root, name: "random.bin")
        try Data("hello\n".utf8).write(to: root.appendingPathComponent("hello.txt"))
        let tarURL = directory.appendingPathComponent("layer.tar")
        let tar = try ProcessRunner.run(URL(fileURLWithPath: "/bin/tar"), ["-cf", tarURL.path, "-C", root.path, "."])
        guard tar.status == 0 else { throw LayerError(message: tar.stderr) }
        let diffID = Digest.sha256(of: try Data(contentsOf: tarURL))
        let gzip = try ProcessRunner.run(URL(fileURLWithPath: "/bin/gzip"), ["-n", "-1", tarURL.path])
        guard gzip.status == 0 else { throw LayerError(message: gzip.stderr) }
        let url = directory.appendingPathComponent("layer.tar.gz")
        let bytes = try Data(contentsOf: url)
        return (url, Digest.sha256(of: bytes), Int64(bytes.count), diffID)
    }

    struct LayerError: Error { var message: String }
}
