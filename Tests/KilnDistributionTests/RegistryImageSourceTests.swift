import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing

@Suite(
    "RegistryImageSource against a real registry",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct RegistryImageSourceTests {
    @Test("An image skopeo pushed resolves to the same bytes and its blobs land verified in the store")
    func resolveAndFetchSkopeoPush() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                try DistributionFixtures.skopeoPushBusybox(to: "\(registry.host)/base/busybox:latest")
                let expected = try DistributionFixtures.busybox()
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let source = RegistryImageSource(pool: pool)
                let resolved = try await source.resolve(try Reference(parsing: "\(registry.host)/base/busybox"), platform: .host)
                #expect(resolved.manifest.layers.map(\.digest) == (try expected.manifest().layers.map(\.digest)))
                #expect(resolved.rawConfig == (try expected.rawConfig()))
                #expect(resolved.manifestDigest == Digest.sha256(of: resolved.rawManifest))

                let store = DistributionFixtures.store(in: directory)
                let first = SkippedCounter()
                try await source.fetch(DistributionFixtures.blobs(of: resolved), of: resolved, into: store) { first.add($0) }
                for blob in DistributionFixtures.blobs(of: resolved) {
                    let stored = try Data(contentsOf: store.path(for: blob.digest))
                    #expect(Digest.sha256(of: stored) == blob.digest)
                }
                #expect(first.transferred == Set(DistributionFixtures.blobs(of: resolved).map(\.digest)))

                let getsBefore = registry.requestCount("GET", path: "/blobs/sha256:")
                let second = SkippedCounter()
                try await source.fetch(DistributionFixtures.blobs(of: resolved), of: resolved, into: store) { second.add($0) }
                #expect(second.all)
                #expect(registry.requestCount("GET", path: "/blobs/sha256:") == getsBefore)
            }
        }
    }

    @Test("An index resolves to the asked platform; arm/v7 takes an arm/v6 image; a missing platform is named")
    func indexPlatforms() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let client = await pool.client(for: registry.host)
                var entries: [Descriptor] = []
                for platform in [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm", variant: "v6")] {
                    let layer = Data("layer for \(platform)".utf8)
                    let config = try CanonicalJSON.blob(ImageConfig(platform: platform, rootfs: RootFS(diffIDs: [.sha256(of: layer)])))
                    try await client.pushBlob(data: config.bytes, to: "multi/arch")
                    let layerBlob = try await client.pushBlob(data: layer, to: "multi/arch")
                    let manifest = Manifest(config: config.descriptor(mediaType: .ociConfig),
                                            layers: [layerBlob.descriptor(mediaType: .ociLayer)])
                    var descriptor = try await client.pushManifest(manifest, to: .tag(platform.architecture), in: "multi/arch")
                    descriptor.platform = platform
                    entries.append(descriptor)
                }
                let index = try CanonicalJSON.blob(Index(manifests: entries))
                try await client.pushManifest(index.bytes, mediaType: .ociIndex, to: .tag("latest"), in: "multi/arch")

                let source = RegistryImageSource(pool: pool)
                let reference = try Reference(parsing: "\(registry.host)/multi/arch")
                let amd64 = try await source.resolve(reference, platform: Platform(os: "linux", architecture: "amd64"))
                #expect(amd64.manifestDigest == entries[0].digest)
                #expect(amd64.config.platform.architecture == "amd64")
                let arm = try await source.resolve(reference, platform: try Platform(parsing: "linux/arm/v7"))
                #expect(arm.manifestDigest == entries[1].digest)
                let error = await #expect(throws: DistributionError.self) {
                    try await source.resolve(reference, platform: try Platform(parsing: "linux/s390x"))
                }
                #expect(error?.description.contains("linux/s390x") == true)
                #expect(error?.description.contains("linux/arm/v6") == true)
            }
        }
    }

    @Test("A blob whose bytes do not match leaves nothing in the store")
    func corruptBlobLeavesNothing() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                try DistributionFixtures.skopeoPushBusybox(to: "\(registry.host)/base/busybox:latest")
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let source = RegistryImageSource(pool: pool)
                let resolved = try await source.resolve(try Reference(parsing: "\(registry.host)/base/busybox"), platform: .host)
                let layer = resolved.manifest.layers[0]
                let data = registry.directory.appendingPathComponent(
                    "storage/docker/registry/v2/blobs/sha256/\(layer.digest.encoded.prefix(2))/\(layer.digest.encoded)/data")
                let handle = try FileHandle(forWritingTo: data)
                try handle.seek(toOffset: 1000)
                handle.write(Data("corrupted".utf8))
                try handle.close()
                let store = DistributionFixtures.store(in: directory)
                await #expect(throws: (any Error).self) {
                    try await source.fetch([layer], of: resolved, into: store) { _ in }
                }
                #expect(!store.exists(layer.digest))
                let ingest = store.directory.appendingPathComponent("ingest")
                #expect((try? FileManager.default.contentsOfDirectory(atPath: ingest.path))?.isEmpty ?? true)
            }
        }
    }
}
