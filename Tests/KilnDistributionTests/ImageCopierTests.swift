import Foundation
import KilnDistribution
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite(
    "ImageCopier between real registries",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: TestRegistryFaultProxy.isAvailable, "python3 is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct ImageCopierTests {
    @Test("A copy to another registry streams each blob from download to upload, surviving a broken download")
    func crossRegistryStreams() async throws {
        try await withTestRegistry { source in
            try await withTestRegistry { target in
                try await DistributionFixtures.withTemporaryDirectory { directory in
                    try DistributionFixtures.skopeoPushBusybox(to: "\(source.host)/base/busybox:1")
                    try await withFaultProxy(for: source, faults: .init(dropBlobGets: 1)) { proxy in
                        // Uploads from a file would go in 256 KiB PATCHes; a streamed blob is one PUT.
                        // A streamed PUT's deadline covers its whole body (60 s plus 64 KiB/s by
                        // default); in one CI run, under a burst of parallel suites, the copy most
                        // likely overran it and fell back to the file, correctly. Here the deadline
                        // is out of reach, so only a stream that cannot resume falls back.
                        let pool = try RegistryPool(options: DistributionFixtures.options(
                            directory: directory, requestTimeout: .seconds(900)))
                        let digest = try await ImageCopier(pool: pool).copy(
                            try Reference(parsing: "\(proxy.host)/base/busybox:1"),
                            to: try Reference(parsing: "\(target.host)/copied/busybox:2"))
                        #expect(digest.description == (try BaseImages.busybox().digest))
                        #expect(proxy.requests().contains { $0.contains("dropped-response") })
                        #expect(target.requestCount("PATCH", path: "/blobs/uploads/") == 0)
                        #expect(try DistributionFixtures.skopeoInspect("\(target.host)/copied/busybox:2").digest == digest.description)
                    }
                }
            }
        }
    }

    @Test("A copy of an index copies every platform's manifest, then the index, digests unchanged")
    func copiesIndex() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let client = await pool.client(for: registry.host)
                var entries: [Descriptor] = []
                for platform in [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")] {
                    let layer = Data("layer for \(platform)".utf8)
                    let config = try CanonicalJSON.blob(ImageConfig(platform: platform, rootfs: RootFS(diffIDs: [.sha256(of: layer)])))
                    try await client.pushBlob(data: config.bytes, to: "multi/src")
                    let layerBlob = try await client.pushBlob(data: layer, to: "multi/src")
                    var descriptor = try await client.pushManifest(
                        Manifest(config: config.descriptor(mediaType: .ociConfig), layers: [layerBlob.descriptor(mediaType: .ociLayer)]),
                        to: .tag(platform.architecture), in: "multi/src")
                    descriptor.platform = platform
                    entries.append(descriptor)
                }
                let index = try CanonicalJSON.blob(Index(manifests: entries))
                try await client.pushManifest(index.bytes, mediaType: .ociIndex, to: .tag("all"), in: "multi/src")
                let digest = try await ImageCopier(pool: pool).copy(
                    try Reference(parsing: "\(registry.host)/multi/src:all"), to: try Reference(parsing: "\(registry.host)/multi/dst:all"))
                #expect(digest == index.digest)
                #expect(try await client.fetchManifest(.tag("all"), in: "multi/dst").bytes == index.bytes)
                for entry in entries { #expect(try await client.manifestDescriptor(.digest(entry.digest), in: "multi/dst") != nil) }
                #expect(registry.requestCount("PUT", path: "/blobs/uploads/") == 4, "the copy uploaded instead of mounting")
            }
        }
    }
}
