import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing

@Suite(
    "Registry mirrors",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct MirrorTests {
    @Test("Pulls come from the mirror first; the origin is not asked")
    func mirrorServes() async throws {
        try await withTestRegistry { origin in
            try await withTestRegistry { mirror in
                try await DistributionFixtures.withTemporaryDirectory { directory in
                    try DistributionFixtures.skopeoPushBusybox(to: "\(origin.host)/library/busybox:1")
                    try DistributionFixtures.skopeoPushBusybox(to: "\(mirror.host)/cache/library/busybox:1")
                    let options = DistributionFixtures.options(
                        directory: directory, mirrors: [origin.host: [try RegistryMirror(parsing: "\(mirror.host)/cache")]])
                    let source = try RegistryImageSource(options: options)
                    let reference = try Reference(parsing: "\(origin.host)/library/busybox:1")
                    let originBefore = origin.requestCount("GET", path: "/v2/library/busybox")
                    let resolved = try await source.resolve(reference, platform: .host)
                    try await source.fetch(resolved.manifest.layers, of: resolved, into: DistributionFixtures.store(in: directory)) { _ in }
                    #expect(origin.requestCount("GET", path: "/v2/library/busybox") == originBefore)
                    #expect(mirror.requestCount("GET", path: "/v2/cache/library/busybox/blobs/") >= 2)
                }
            }
        }
    }

    @Test("A mirror without the image, or one that is down, falls back to the origin")
    func fallbackToOrigin() async throws {
        try await withTestRegistry { origin in
            try await withTestRegistry { emptyMirror in
                try await DistributionFixtures.withTemporaryDirectory { directory in
                    try DistributionFixtures.skopeoPushBusybox(to: "\(origin.host)/library/busybox:1")
                    let downMirror = "127.0.0.1:\(try TestRegistry.freePort())"
                    let options = DistributionFixtures.options(
                        directory: directory,
                        mirrors: [origin.host: [try RegistryMirror(parsing: downMirror), try RegistryMirror(parsing: emptyMirror.host)]])
                    let source = try RegistryImageSource(options: options)
                    let reference = try Reference(parsing: "\(origin.host)/library/busybox:1")
                    let resolved = try await source.resolve(reference, platform: .host)
                    let store = DistributionFixtures.store(in: directory)
                    try await source.fetch(resolved.manifest.layers, of: resolved, into: store) { _ in }
                    #expect(resolved.manifestDigest.description == (try BaseImages.busybox().digest))
                    for layer in resolved.manifest.layers { #expect(store.exists(layer.digest)) }
                    #expect(emptyMirror.requestCount("GET", path: "/v2/library/busybox/manifests/1") == 1)
                }
            }
        }
    }
}
