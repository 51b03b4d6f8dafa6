import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite(
    "ImagePusher against a real registry",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: DistributionFixtures.hasSkopeo, "skopeo is not installed"))
struct ImagePusherTests {
    @Test("skopeo reads back exactly what Kiln pushed; a second push uploads nothing")
    func pushReadBySkopeo() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let reference = try Reference(parsing: "\(registry.host)/base/busybox:1")
                let digest = try await ImagePusher(pool: pool).push(image, to: reference)
                #expect(digest == (try image.digest()))
                let inspected = try DistributionFixtures.skopeoInspect(reference.description)
                #expect(inspected.digest == digest.description)
                #expect(inspected.layers == (try image.manifest().layers.map(\.digest.description)))
                let raw = try DistributionFixtures.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
                #expect(raw.stdoutData == (try image.rawManifest()))

                let uploadsBefore = registry.requestCount("POST", path: "/blobs/uploads/")
                let skipped = SkippedCounter()
                try await ImagePusher(pool: pool).push(image, to: reference) { skipped.add($0) }
                #expect(registry.requestCount("POST", path: "/blobs/uploads/") == uploadsBefore)
                #expect(skipped.all)
            }
        }
    }

    @Test("Several tags: the manifest goes up by digest once, then under each tag; blobs once")
    func severalTags() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let references = try ["a", "b", "c"].map { try Reference(parsing: "\(registry.host)/multi/tags:\($0)") }
                let digest = try await ImagePusher(pool: pool).push(image, to: references)
                let client = await pool.client(for: registry.host)
                for tag in ["a", "b", "c"] {
                    #expect(try await client.manifestDescriptor(.tag(tag), in: "multi/tags")?.digest == digest)
                }
                #expect(registry.requestCount("PUT", path: "/manifests/\(digest)") == 1)
                #expect(registry.requestCount("PUT", path: "/manifests/") == 4)
                #expect(registry.requestCount("POST", path: "/blobs/uploads/") == (try image.layers().count) + 1)
            }
        }
    }

    @Test("mountFrom: a push to another repository of the same registry mounts every blob")
    func mountsFromKnownRepository() async throws {
        try await withTestRegistry { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                let pool = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let source = try Reference(parsing: "\(registry.host)/base/busybox:1")
                try await ImagePusher(pool: pool).push(image, to: source)
                let uploadsBefore = registry.requestCount("PUT", path: "/blobs/uploads/")
                let target = try Reference(parsing: "\(registry.host)/app/derived:1")
                try await ImagePusher(pool: pool).push(image, to: target, mountFrom: [source])
                #expect(registry.requestCount("PUT", path: "/blobs/uploads/") == uploadsBefore, "a blob was uploaded")
                #expect(registry.requestCount("POST", path: "mount=") == (try image.layers().count) + 1)
                #expect(try DistributionFixtures.skopeoInspect(target.description).digest == (try image.digest().description))
            }
        }
    }

    @Test("Basic auth: --creds style credentials push and pull")
    func basicAuth() async throws {
        try await withTestRegistry(auth: .basic(username: "kiln", password: "s3cret")) { registry in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                let options = DistributionFixtures.options(
                    directory: directory, credentials: RegistryCredential(username: "kiln", password: "s3cret"))
                let pool = try RegistryPool(options: options)
                let reference = try Reference(parsing: "\(registry.host)/private/busybox:1")
                let digest = try await ImagePusher(pool: pool).push(image, to: reference)
                #expect(try DistributionFixtures.skopeoInspect(reference.description, credentials: "kiln:s3cret").digest
                    == digest.description)
                let resolved = try await RegistryImageSource(pool: pool).resolve(reference, platform: .host)
                #expect(resolved.manifestDigest == digest)

                let anonymous = try RegistryPool(options: DistributionFixtures.options(directory: directory))
                let error = await #expect(throws: RegistryError.self) {
                    try await RegistryImageSource(pool: anonymous).resolve(reference, platform: .host)
                }
                #expect(error?.kind == .unauthorized)
                #expect(error?.description.contains("\(registry.host)/private/busybox") == true)
            }
        }
    }

    @Test("Bearer tokens: push and pull through the token flow")
    func tokenAuth() async throws {
        guard TestTokenServer.isAvailable else { return }
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "r") { registry, _ in
            try await DistributionFixtures.withTemporaryDirectory { directory in
                let image = try DistributionFixtures.busybox()
                let options = DistributionFixtures.options(
                    directory: directory, credentials: RegistryCredential(username: "builder", password: "hunter2"))
                let pool = try RegistryPool(options: options)
                let reference = try Reference(parsing: "\(registry.host)/team/busybox:1")
                let digest = try await ImagePusher(pool: pool).push(image, to: reference)
                let store = DistributionFixtures.store(in: directory)
                let source = RegistryImageSource(pool: pool)
                let resolved = try await source.resolve(reference, platform: .host)
                #expect(resolved.manifestDigest == digest)
                try await source.fetch(resolved.manifest.layers, of: resolved, into: store) { _ in }
                for layer in resolved.manifest.layers { #expect(store.size(of: layer.digest) == layer.size) }
            }
        }
    }
}

/// Collects whether every progress report of a transfer said "skipped".
final class SkippedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [TransferProgress] = []

    func add(_ report: TransferProgress) { lock.withLock { reports.append(report) } }

    var all: Bool { lock.withLock { !reports.isEmpty && reports.allSatisfy(\.skipped) } }
    var count: Int { lock.withLock { reports.count } }
    var transferred: Set<Digest> { lock.withLock { Set(reports.filter { !$0.skipped }.map(\.digest)) } }
}
