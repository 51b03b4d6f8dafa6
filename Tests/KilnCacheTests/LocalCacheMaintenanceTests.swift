import Foundation
import KilnOCI
import KilnStorage
import Testing
@testable import KilnCache

@Suite struct LocalCacheMaintenanceTests {
    func makeRoot() throws -> KilnRoot {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-prune-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return KilnRoot(url: url)
    }

    func setModified(_ url: URL, daysAgo: Double) {
        let date = Date().addingTimeInterval(-daysAgo * 86_400)
        try? FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url.path)
    }

    func entry(_ name: String, blob: StoredBlob?) -> CacheEntry {
        let step = SampleStep.run(name)
        return CacheEntry(key: step.key, layer: blob.map {
            CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: $0.digest, size: $0.size), diffID: $0.digest)
        }, definition: step.document, created: "2026-11-01T00:00:00Z")
    }

    @Test func pruneKeepsRecentlyUsedEntriesTheirBlobsAndFreshFiles() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(at: root.url) }
        let store = ContentStore(root: root)
        let cache = LocalCacheBackend(root: root)
        let oldBlob = try await store.ingest(data: Data("old layer".utf8))
        let usedBlob = try await store.ingest(data: Data("used layer".utf8))
        let strayOld = try await store.ingest(data: Data("stray, old".utf8))
        let strayFresh = try await store.ingest(data: Data("stray, just written by a running build".utf8))
        let old = entry("old", blob: oldBlob)
        let used = entry("used", blob: usedBlob)
        try await cache.store(old, blobsIn: store)
        try await cache.store(used, blobsIn: store)
        for digest in [oldBlob.digest, usedBlob.digest, strayOld.digest] { setModified(store.path(for: digest), daysAgo: 30) }
        setModified(cache.path(for: old), daysAgo: 30)
        setModified(cache.path(for: used), daysAgo: 30)
        // A lookup hit marks the entry as used, so age counts from the last hit, not from creation.
        #expect(try await cache.lookup([used.key]).count == 1)
        let oldSnapshot = root.snapshots.appendingPathComponent(String(repeating: "a", count: 64))
        try FileManager.default.createDirectory(at: oldSnapshot, withIntermediateDirectories: true)
        setModified(oldSnapshot, daysAgo: 30)

        let before = try cache.usage(root: root)
        #expect(before.entries == 2 && before.snapshots == 1)
        let report = try cache.prune(root: root, unusedSince: Date().addingTimeInterval(-14 * 86_400))
        #expect(report.entries == 1)
        #expect(report.blobs == 2)
        #expect(report.snapshots == 1)
        #expect(!store.exists(oldBlob.digest) && !store.exists(strayOld.digest))
        #expect(store.exists(usedBlob.digest) && store.exists(strayFresh.digest))
        #expect(try cache.entries().map(\.key) == [used.key])
    }
}
