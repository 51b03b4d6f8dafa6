import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing

@Suite(
    "Pull and push through a fault-injecting proxy",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: TestRegistryFaultProxy.isAvailable, "python3 is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct FaultTests {
    @Test("A pull completes through dropped blob downloads, 503s and a 429 with Retry-After")
    func pullSurvivesFaults() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                try DistributionFixtures.skopeoPushBusybox(to: "\(registry.host)/base/busybox:1")
                let faults = TestRegistryFaultProxy.Faults(dropBlobGets: 2, serverErrors: 3, tooManyRequests: 1)
                try await withFaultProxy(for: registry, faults: faults) { proxy in
                    let source = try RegistryImageSource(options: DistributionFixtures.options(directory: directory))
                    let resolved = try await source.resolve(try Reference(parsing: "\(proxy.host)/base/busybox:1"), platform: .host)
                    let store = DistributionFixtures.store(in: directory)
                    try await source.fetch(resolved.manifest.layers, of: resolved, into: store) { _ in }
                    for layer in resolved.manifest.layers {
                        #expect(Digest.sha256(of: try Data(contentsOf: store.path(for: layer.digest))) == layer.digest)
                    }
                    let log = proxy.requests()
                    #expect(log.contains { $0.hasSuffix(" 429") })
                    #expect(log.filter { $0.hasSuffix(" 503") }.count == 3)
                    #expect(log.contains { $0.contains("dropped-response") })
                    // The broken download resumed where it stopped instead of starting over.
                    #expect(log.contains { $0.contains("/blobs/") && $0.contains("range=bytes=") })
                }
            }
        }
    }

    @Test("A push completes through a PATCH cut halfway and 503s; skopeo reads the result")
    func pushSurvivesFaults() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                try await withFaultProxy(for: registry, faults: .init(serverErrors: 2, dropPatches: 1)) { proxy in
                    let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                    let digest = try await ImagePusher(pool: pool).push(image, to: try Reference(parsing: "\(proxy.host)/app/x:1"))
                    #expect(proxy.requests().contains { $0.contains("dropped-request") })
                    #expect(try DistributionFixtures.skopeoInspect("\(registry.host)/app/x:1").digest == digest.description)
                }
            }
        }
    }

    @Test("A request that stalls times out and is retried")
    func stallIsRetried() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                try DistributionFixtures.skopeoPushBusybox(to: "\(registry.host)/base/busybox:1")
                try await withFaultProxy(for: registry, faults: .init(stalls: 1)) { proxy in
                    let options = DistributionFixtures.options(directory: directory, requestTimeout: .seconds(2))
                    let source = try RegistryImageSource(options: options)
                    let resolved = try await source.resolve(try Reference(parsing: "\(proxy.host)/base/busybox:1"), platform: .host)
                    #expect(resolved.manifestDigest.description == (try BaseImages.busybox().digest))
                    #expect(proxy.requests().contains { $0.hasSuffix(" stalled") })
                }
            }
        }
    }

    @Test("A push cut off at any byte never leaves the tag pointing at a missing blob", arguments: [0, 1, 70_000, 300_000, 600_000, 900_000])
    func interruptedPushLeavesNoDanglingTag(offset: Int) async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                try await withFaultProxy(for: registry, faults: .init(dieAfterUploadedBytes: offset)) { proxy in
                    let retries = RetryPolicy(maximumAttempts: 2, initialDelay: .milliseconds(10), maximumDelay: .milliseconds(50))
                    let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory, retries: retries))
                    let pushed = try? await ImagePusher(pool: pool).push(image, to: try Reference(parsing: "\(proxy.host)/app/cut:1"))
                    #expect(proxy.requests().contains { $0.contains("died-after=") } == (pushed == nil))
                }
                let client = RegistryClient(registry: registry.host)
                guard let tagged = try await client.manifestDescriptor(.tag("1"), in: "app/cut") else { return }
                let manifest = try await client.fetchManifest(.digest(tagged.digest), in: "app/cut").manifest()
                for blob in [manifest.config] + manifest.layers {
                    #expect(try await client.blobSize(blob.digest, in: "app/cut") == blob.size, "tag points at missing \(blob.digest)")
                }
            }
        }
    }
}
