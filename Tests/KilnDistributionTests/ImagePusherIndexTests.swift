import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

/// ``ImagePusher/pushIndex(_:children:to:mountFrom:progress:)``: what `kiln build --platform
/// a,b --push` pushes — every child by digest to each repository, the index last under each tag.
@Suite(
    "ImagePusher.pushIndex against a real registry",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct ImagePusherIndexTests {
    @Test("children go up by digest to every repository (the second mounts), then the index under each tag; skopeo reads it")
    func pushesChildrenThenIndex() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let amd64 = try DistributionFixtures.busybox()
                let arm64 = try DistributionFixtures.busybox(labelled: "linux/arm64", in: directory)
                var entries: [Descriptor] = []
                for (image, platform) in [(amd64, Platform(os: "linux", architecture: "amd64")),
                                          (arm64, Platform(os: "linux", architecture: "arm64", variant: "v8"))] {
                    var descriptor = image.descriptor
                    descriptor.annotations = [:]
                    descriptor.platform = platform
                    entries.append(descriptor)
                }
                let index = Index(manifests: entries)
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let references = try ["multi/one:v1", "multi/two:v1", "multi/two:v2"].map {
                    try Reference(parsing: "\(registry.host)/\($0)")
                }
                let digest = try await ImagePusher(pool: pool).pushIndex(index, children: [amd64, arm64], to: references)
                let encoded = try CanonicalJSON.blob(index)
                #expect(digest == encoded.digest)
                for reference in references {
                    let raw = try DistributionFixtures.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
                    #expect(raw.stdoutData == encoded.bytes)
                }
                let chosen = try DistributionFixtures.skopeo(
                    ["--override-arch", "arm64", "--override-os", "linux", "inspect", "--tls-verify=false",
                     "docker://\(registry.host)/multi/two:v2"])
                #expect(chosen.stdout.contains("\"Architecture\": \"arm64\""), "\(chosen.stdout)")
                // multi/two got its blobs by mount from multi/one, not by upload.
                #expect(registry.requestCount("POST", path: "/multi/two/blobs/uploads/?mount=") > 0)
                #expect(registry.requestCount("PATCH", path: "/multi/two/") == 0)
                #expect(registry.requestCount("PUT", path: "/multi/two/blobs/uploads/") == 0)

                // The index goes up after every child of its repository.
                let puts = registry.log().split(separator: "\n").filter { $0.contains("\"PUT /v2/multi/one/manifests/") }
                #expect(puts.count == 3, "\(puts)")
                #expect(puts.last?.contains("/manifests/v1 ") == true, "\(puts)")
            }
        }
    }

    @Test("an index entry that is none of the children is refused before anything is pushed")
    func refusesForeignEntry() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let amd64 = try DistributionFixtures.busybox()
                let stranger = Descriptor(mediaType: .ociManifest, digest: .sha256(of: Data("elsewhere".utf8)), size: 9,
                                          platform: Platform(os: "linux", architecture: "arm64"))
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                await #expect(throws: DistributionError.self) {
                    try await ImagePusher(pool: pool).pushIndex(
                        Index(manifests: [amd64.descriptor, stranger]), children: [amd64],
                        to: [try Reference(parsing: "\(registry.host)/multi/one:v1")])
                }
                #expect(registry.requestCount("PUT", path: "/manifests/") == 0)
                #expect(registry.requestCount("POST", path: "/blobs/uploads/") == 0)
            }
        }
    }
}
