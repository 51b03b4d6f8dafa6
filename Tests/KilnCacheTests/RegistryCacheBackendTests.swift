import Foundation
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing
@testable import KilnCache

/// The registry backend against the real distribution registry.
@Suite(.enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct RegistryCacheBackendTests {
    func makeRoot() throws -> KilnRoot {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-regcache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return KilnRoot(url: url)
    }

    func input(_ text: String) -> SampleStep { SampleStep.run(text) }

    @Test func entriesRoundTripThroughTheRegistryAndOnlyHitsCostALayer() async throws {
        try await withTestRegistry { registry in
            let root = try makeRoot()
            defer { try? FileManager.default.removeItem(at: root.url) }
            let store = ContentStore(root: root)
            let blob = try await store.ingest(data: Data(repeating: 7, count: 300_000))
            let layer = CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: blob.digest, size: blob.size),
                                    diffID: Digest.sha256(of: Data("diff".utf8)))
            let withLayer = CacheEntry(key: CacheKey(document: input("a").document), layer: layer, definition: input("a").document, created: "2026-11-22T00:00:00Z")
            let empty = CacheEntry(key: CacheKey(document: input("b").document), layer: nil, definition: input("b").document, created: "2026-11-22T00:00:00Z")

            let writer = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "team/cache")
            try await writer.store(withLayer, blobsIn: store)
            try await writer.store(empty, blobsIn: store)

            // Another machine: a new client, nothing local.
            let reader = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "team/cache")
            let blobGETsBefore = registry.requestCount("GET", path: "/blobs/sha256:")
            let missing = CacheKey(document: input("c").document)
            let found = try await reader.lookup([withLayer.key, empty.key, missing])
            #expect(found[withLayer.key] == [withLayer])
            #expect(found[empty.key] == [empty])
            #expect(found[missing] == nil)
            // A lookup reads manifests only: no blob is downloaded.
            #expect(registry.requestCount("GET", path: "/blobs/sha256:") == blobGETsBefore)

            // The entry is an ordinary OCI artifact that other tools read.
            let inspect = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/skopeo"),
                ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/team/cache:\(withLayer.key.tag)"])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            #expect(inspect.stdout.contains(blob.digest.description))
            #expect(inspect.stdout.contains(RegistryCacheBackend.entryMediaType.rawValue))
        }
    }

    @Test func anUnreachableRegistryIsAnErrorNotAMiss() async throws {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let backend = RegistryCacheBackend(
            client: RegistryClient(registry: "127.0.0.1:9", configuration: .init(retryPolicy: .none)),
            repository: "team/cache")
        await #expect(throws: (any Error).self) { try await backend.lookup([CacheKey(document: input("a").document)]) }
    }

    @Test func aStoreWithoutItsBlobPushesNoTag() async throws {
        try await withTestRegistry { registry in
            let root = try makeRoot()
            defer { try? FileManager.default.removeItem(at: root.url) }
            let digest = Digest.sha256(of: Data("never stored".utf8))
            let entry = CacheEntry(
                key: CacheKey(document: input("a").document),
                layer: CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: digest, size: 12), diffID: digest),
                definition: input("a").document, created: "2026-11-22T00:00:00Z")
            let backend = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "team/cache")
            await #expect(throws: CacheError.self) { try await backend.store(entry, blobsIn: ContentStore(root: root)) }
            #expect(try await backend.lookup([entry.key]).isEmpty)
            #expect(registry.requestCount("PUT", path: "/manifests/") == 0)
        }
    }
}

extension RegistryCacheBackendTests {
    @Test func listsAndPrunesEntriesByAge() async throws {
        try await withTestRegistry { registry in
            let root = try makeRoot()
            defer { try? FileManager.default.removeItem(at: root.url) }
            let store = ContentStore(root: root)
            let backend = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "team/cache")
            let old = CacheEntry(key: CacheKey(document: input("old").document), layer: nil, definition: input("old").document, created: "2026-01-01T00:00:00Z")
            let new = CacheEntry(key: CacheKey(document: input("new").document), layer: nil, definition: input("new").document, created: "2026-11-20T00:00:00Z")
            try await backend.store(old, blobsIn: store)
            try await backend.store(new, blobsIn: store)
            // A tag that is not a Kiln entry is left alone.
            try await backend.client.pushManifest(
                Manifest(config: Descriptor(mediaType: .ociEmpty, digest: Digest.sha256(of: Data("{}".utf8)), size: 2),
                         layers: [Descriptor(mediaType: .ociEmpty, digest: Digest.sha256(of: Data("{}".utf8)), size: 2)]),
                to: .tag("latest"), in: "team/cache")
            #expect(Set(try await backend.entries().map(\.key)) == [old.key, new.key])
            let cutoff = ISO8601DateFormatter().date(from: "2026-06-01T00:00:00Z")!
            #expect(try await backend.prune(createdBefore: cutoff) == 1)
            #expect(try await backend.entries().map(\.key) == [new.key])
            #expect(try await backend.client.listTags(in: "team/cache").contains("latest"))
        }
    }
}

extension RegistryCacheBackendTests {
    @Test func aVariantAConcurrentWriterDroppedFromTheListIsStillFound() async throws {
        try await withTestRegistry { registry in
            let root = try makeRoot()
            defer { try? FileManager.default.removeItem(at: root.url) }
            let store = ContentStore(root: root)
            let step = input("not reproducible")
            let key = CacheKey(document: step.document)
            let parent = Digest.sha256(of: Data("base".utf8))
            func variant(_ bytes: String, created: String) async throws -> CacheEntry {
                let blob = try await store.ingest(data: Data(bytes.utf8))
                let layer = CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: blob.digest, size: blob.size),
                                        diffID: Digest.sha256(of: Data(bytes.utf8)))
                return CacheEntry(key: key, layer: layer, definition: step.document, basis: ["parent": parent], created: created)
            }
            let first = try await variant("machine one's result", created: "2026-11-22T00:00:00Z")
            let second = try await variant("machine two's result", created: "2026-11-22T00:00:01Z")
            let backend = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "team/cache")
            try await backend.store(first, blobsIn: store)
            try await backend.store(second, blobsIn: store)
            // The race: the second writer read the list before the first wrote it, and wrote it
            // back holding its own variant only.
            let onlySecond = try await backend.client.fetchManifest(.tag(RegistryCacheBackend.variantTag(second)), in: "team/cache")
            try await backend.client.pushManifest(try onlySecond.manifest(), to: .tag(key.tag), in: "team/cache")
            #expect(try await backend.lookup([key])[key]?.map(\.variant) == [second.variant])

            let complete = try await backend.completeVariants([key])[key] ?? []
            #expect(Set(complete.map(\.variant)) == [first.variant, second.variant])
            #expect(Set(try await backend.entries().map(\.variant)) == [first.variant, second.variant])

            // Pruning a key deletes its variant tags too.
            #expect(try await backend.prune(createdBefore: Date()) == 1)
            #expect(try await backend.client.listTags(in: "team/cache").filter { $0.hasPrefix("kiln-") }.isEmpty)
        }
    }
}
