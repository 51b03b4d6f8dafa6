import Foundation
import KilnOCI
import KilnStorage
import Testing
@testable import KilnCache

@Suite struct LocalCacheBackendTests {
    func makeRoot() throws -> KilnRoot {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return KilnRoot(url: url)
    }

    func input(_ text: String) -> SampleStep { SampleStep.run(text) }

    @Test func storesAndFindsEntriesWithTheirLayers() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(at: root.url) }
        let store = ContentStore(root: root)
        let blob = try await store.ingest(data: Data("layer bytes".utf8))
        let cache = LocalCacheBackend(root: root)
        let withLayer = CacheEntry(
            key: CacheKey(document: input("a").document),
            layer: CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: blob.digest, size: blob.size),
                               diffID: blob.digest),
            definition: input("a").document, created: "2026-01-01T00:00:00Z")
        let empty = CacheEntry(key: CacheKey(document: input("b").document), layer: nil, definition: input("b").document, created: "2026-01-01T00:00:00Z")
        try await cache.store(withLayer, blobsIn: store)
        try await cache.store(empty, blobsIn: store)
        let missing = CacheKey(document: input("c").document)
        let found = try await cache.lookup([withLayer.key, empty.key, missing])
        #expect(found[withLayer.key] == [withLayer])
        #expect(found[empty.key] == [empty])
        #expect(found[missing] == nil)
        #expect(try cache.entries().count == 2)
    }

    @Test func anEntryWhoseBlobWasPrunedIsAMiss() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(at: root.url) }
        let store = ContentStore(root: root)
        let blob = try await store.ingest(data: Data("gone soon".utf8))
        let cache = LocalCacheBackend(root: root)
        let entry = CacheEntry(
            key: CacheKey(document: input("a").document),
            layer: CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: blob.digest, size: blob.size),
                               diffID: blob.digest),
            definition: input("a").document, created: "2026-01-01T00:00:00Z")
        try await cache.store(entry, blobsIn: store)
        _ = try store.delete(blob.digest)
        #expect(try await cache.lookup([entry.key]).isEmpty)
    }

    @Test func refusesAnEntryWithoutItsBlob() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(at: root.url) }
        let cache = LocalCacheBackend(root: root)
        let digest = Digest.sha256(of: Data("never stored".utf8))
        let entry = CacheEntry(
            key: CacheKey(document: input("a").document),
            layer: CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: digest, size: 12), diffID: digest),
            definition: input("a").document, created: "2026-01-01T00:00:00Z")
        await #expect(throws: CacheError.self) { try await cache.store(entry, blobsIn: ContentStore(root: root)) }
        #expect(try cache.entries().isEmpty)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: root.cache.path)) ?? []
        #expect(leftovers.isEmpty)
    }
}
