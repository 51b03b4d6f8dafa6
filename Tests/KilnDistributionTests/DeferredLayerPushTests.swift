import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnTestSupport
import Synchronization
import Testing

@Suite(
    "Pushing deferred layers (blobs still elsewhere)",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct DeferredLayerPushTests {
    /// The busybox image with every layer deferred; `fetches` counts the fetches.
    static func deferredBusybox(_ fetches: FetchCount) throws -> (AssembledImage, layerCount: Int) {
        let image = try DistributionFixtures.busybox()
        let layers: [any Layer] = try image.layers().map { layer in
            guard let file = layer as? FileLayer else {
                throw ImageError.malformed(path: "fixture", reason: "the busybox layout's layers are files")
            }
            return DeferredLayer(descriptor: file.descriptor, diffID: file.diffID) {
                fetches.value.withLock { $0 += 1 }
                return file
            }
        }
        return (try AssembledImage(config: try image.config(), layers: layers), layers.count)
    }

    @Test("a push that finds or mounts the blob never fetches it; to another registry each is fetched once; writers fetch first")
    func fetchOnlyWhenNeeded() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let fetches = FetchCount()
                let (image, layerCount) = try Self.deferredBusybox(fetches)
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let source = try Reference(parsing: "\(registry.host)/base/busybox:1")
                try await ImagePusher(pool: pool).push(try DistributionFixtures.busybox(), to: source)

                let mounted = try Reference(parsing: "\(registry.host)/app/derived:1")
                try await ImagePusher(pool: pool).push(image, to: mounted, mountFrom: [source])
                #expect(fetches.value.withLock { $0 } == 0)
                #expect(try DistributionFixtures.skopeoInspect(mounted.description).digest == (try image.digest().description))

                try await withTestRegistry { other in
                    let elsewhere = try Reference(parsing: "\(other.host)/app/derived:1")
                    try await ImagePusher(pool: pool).push(image, to: elsewhere, mountFrom: [source])
                    #expect(fetches.value.withLock { $0 } == layerCount)
                    #expect(try DistributionFixtures.skopeoInspect(elsewhere.description).digest == (try image.digest().description))
                }

                // Writers read bytes synchronously: a deferred layer must be fetched first.
                #expect(throws: ImageError.self) { try image.layers()[0].openBlob() }
                let fetched = try await image.fetchingDeferredLayers()
                #expect(try fetched.digest() == (try image.digest()))
                #expect(try fetched.layers().allSatisfy { $0 is FileLayer })
            }
        }
    }
}

/// How many times deferred layers were fetched.
final class FetchCount: Sendable {
    let value = Mutex(0)
}
