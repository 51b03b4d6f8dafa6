import Foundation
import KilnDistribution
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing

@Suite("ImagePuller against a real registry", .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct ImagePullerTests {
    /// A gzip tar of `files` (path → contents; nil makes a directory) made by GNU tar, so that
    /// whiteout names go in as they are.
    static func layer(_ files: [String: String?], in directory: URL) throws -> (data: Data, diffID: Digest) {
        let tree = directory.appendingPathComponent("tree-\(UUID().uuidString)")
        for (path, contents) in files {
            let url = tree.appendingPathComponent(path)
            if let contents {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(contents.utf8).write(to: url)
            } else {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            }
        }
        let tar = directory.appendingPathComponent("layer-\(UUID().uuidString).tar")
        try ProcessRunner.checked("tar", ["-C", tree.path, "--sort=name", "-cf", tar.path, "."])
        let plain = try Data(contentsOf: tar)
        try ProcessRunner.checked("gzip", ["-n", tar.path])
        return (try Data(contentsOf: URL(fileURLWithPath: tar.path + ".gz")), Digest.sha256(of: plain))
    }

    /// Pushes an image of `layers` to `repository:1` and returns its reference.
    static func pushImage(_ layers: [(data: Data, diffID: Digest)], registry: TestRegistry, repository: String) async throws -> Reference {
        let client = RegistryClient(registry: registry.host)
        var descriptors: [Descriptor] = []
        for layer in layers {
            descriptors.append(try await client.pushBlob(data: layer.data, to: repository).descriptor(mediaType: .ociLayerGzip))
        }
        let config = try CanonicalJSON.blob(ImageConfig(platform: .host, rootfs: RootFS(diffIDs: layers.map(\.diffID))))
        try await client.pushBlob(data: config.bytes, to: repository)
        try await client.pushManifest(Manifest(config: config.descriptor(mediaType: .ociConfig), layers: descriptors),
                                      to: .tag("1"), in: repository)
        return try Reference(parsing: "\(registry.host)/\(repository):1")
    }

    @Test("A rootfs pull applies layers in order with whiteouts and opaque directories honoured")
    func rootfsWhiteouts() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let lower = try Self.layer(["a/keep": "keep", "a/gone": "gone", "c/old": "old", "d/file": "d"], in: directory)
                let upper = try Self.layer(["a/.wh.gone": "", "c/.wh..wh..opq": "", "c/fresh": "fresh", "b/new": "new",
                                            ".wh.d": ""], in: directory)
                let reference = try await Self.pushImage([lower, upper], registry: registry, repository: "wh/image")
                let source = try RegistryImageSource(options: DistributionFixtures.options(directory: directory))
                let rootfs = directory.appendingPathComponent("rootfs")
                try await ImagePuller(source: source).pullRootfs(reference, platform: .host, to: rootfs,
                                                                 store: DistributionFixtures.store(in: directory))
                let fileManager = FileManager.default
                #expect(try String(contentsOf: rootfs.appendingPathComponent("a/keep"), encoding: .utf8) == "keep")
                #expect(!fileManager.fileExists(atPath: rootfs.appendingPathComponent("a/gone").path))
                #expect(try fileManager.contentsOfDirectory(atPath: rootfs.appendingPathComponent("c").path) == ["fresh"])
                #expect(fileManager.fileExists(atPath: rootfs.appendingPathComponent("b/new").path))
                #expect(!fileManager.fileExists(atPath: rootfs.appendingPathComponent("d").path))
                #expect(try fileManager.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasPrefix(".rootfs") })
            }
        }
    }

    @Test("Layers downloaded in parallel still apply base first: the top layer's file wins")
    func rootfsOrder() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                // Lower layers are bigger so that they tend to finish last.
                let layers = try (0..<8).map { index in
                    try Self.layer(["etc/version": "\(index)", "padding/\(index)": String(repeating: "x", count: (8 - index) * 200_000)],
                                   in: directory)
                }
                let reference = try await Self.pushImage(layers, registry: registry, repository: "order/image")
                let source = try RegistryImageSource(options: DistributionFixtures.options(directory: directory))
                let rootfs = directory.appendingPathComponent("rootfs")
                try await ImagePuller(source: source).pullRootfs(reference, platform: .host, to: rootfs,
                                                                 store: DistributionFixtures.store(in: directory))
                #expect(try String(contentsOf: rootfs.appendingPathComponent("etc/version"), encoding: .utf8) == "7")
                #expect(try FileManager.default.contentsOfDirectory(atPath: rootfs.appendingPathComponent("padding").path).count == 8)
            }
        }
    }

    @Test("A pull into a non-empty rootfs directory is refused before anything is downloaded")
    func rootfsNotEmpty() async throws {
        try await DistributionFixtures.withTemporaryDirectory { directory in
            let rootfs = directory.appendingPathComponent("rootfs")
            try FileManager.default.createDirectory(at: rootfs, withIntermediateDirectories: true)
            try Data("mine".utf8).write(to: rootfs.appendingPathComponent("precious"))
            let source = try RegistryImageSource(options: DistributionFixtures.options(directory: directory))
            await #expect(throws: DistributionError.destinationNotEmpty(path: rootfs.path)) {
                try await ImagePuller(source: source).pullRootfs(try Reference(parsing: "127.0.0.1:1/x/y"), platform: .host,
                                                                 to: rootfs, store: DistributionFixtures.store(in: directory))
            }
            #expect(try String(contentsOf: rootfs.appendingPathComponent("precious"), encoding: .utf8) == "mine")
        }
    }
}
