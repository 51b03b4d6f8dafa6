import Foundation
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing
@testable import KilnCache

/// Collects warnings from a build cache.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// A loopback port that accepts connections (the kernel completes them) but never answers.
struct SilentListener: ~Copyable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

@Suite(.enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct BuildCacheTests {
    func makeRoot() throws -> KilnRoot {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-buildcache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return KilnRoot(url: url)
    }

    func entry(_ text: String, blob: StoredBlob) -> CacheEntry {
        let step = SampleStep.run(text)
        return CacheEntry(key: step.key,
                          layer: CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: blob.digest, size: blob.size),
                                             diffID: blob.digest),
                          definition: step.document, created: "2026-11-22T00:00:00Z")
    }

    @Test func aNewMachineHitsTheSharedCacheAndFetchesOnlyWhenAsked() async throws {
        try await withTestRegistry { registry in
            let first = try makeRoot(), second = try makeRoot()
            defer {
                try? FileManager.default.removeItem(at: first.url)
                try? FileManager.default.removeItem(at: second.url)
            }
            let blob = try await ContentStore(root: first).ingest(data: Data(repeating: 1, count: 100_000))
            let stored = entry("make", blob: blob)
            let remote = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "ci/cache")
            // Generous remote timeouts: with the whole suite in parallel on 2 cores, a lookup on
            // this registry has taken longer than the 10 s default, which would make it a miss.
            let patience = Duration.seconds(600)
            let writer = BuildCache(local: LocalCacheBackend(root: first), remotes: [CacheSource(remote, mode: .readWrite)],
                                    timeout: patience)
            try await writer.store(stored, blobsIn: ContentStore(root: first))
            // A bound finish needs, not a timing assertion: it returns once the store is done, and
            // with the whole suite running in parallel on 2 cores that has taken over 30 s.
            #expect(await writer.finish(within: patience) == 0)

            let secondStore = ContentStore(root: second)
            let reader = BuildCache(local: LocalCacheBackend(root: second), remotes: [CacheSource(remote, mode: .readOnly)],
                                    timeout: patience)
            let gets = registry.requestCount("GET", path: "/blobs/")
            let hits = await reader.lookup([stored.key], store: secondStore)
            #expect(hits[stored.key]?.first?.entry == stored)
            #expect(hits[stored.key]?.first?.isLocal == false)
            #expect(hits[stored.key]?.first?.backendName == remote.name)
            #expect(registry.requestCount("GET", path: "/blobs/") == gets)
            try await remote.fetchLayer(stored.layer!, into: secondStore)
            #expect(secondStore.exists(blob.digest))
        }
    }

    @Test func writeOnlyAndReadOnlyAreHonoured() async throws {
        try await withTestRegistry { registry in
            let root = try makeRoot()
            defer { try? FileManager.default.removeItem(at: root.url) }
            let store = ContentStore(root: root)
            let blob = try await store.ingest(data: Data("layer".utf8))
            let stored = entry("x", blob: blob)
            let remote = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "ci/cache")
            let readOnly = BuildCache(local: LocalCacheBackend(root: root), remotes: [CacheSource(remote, mode: .readOnly)],
                                      timeout: .seconds(600))
            try await readOnly.store(stored, blobsIn: store)
            await readOnly.finish(within: .seconds(600))
            #expect(try await remote.lookup([stored.key]).isEmpty)

            let writeOnly = BuildCache(local: LocalCacheBackend(root: root), remotes: [CacheSource(remote, mode: .writeOnly)],
                                       timeout: .seconds(600))
            try await writeOnly.store(stored, blobsIn: store)
            await writeOnly.finish(within: .seconds(600))
            #expect(try await remote.lookup([stored.key]).count == 1)
            // Reading skips a write-only remote: only the local cache answers (and it has the entry).
            let freshRoot = try makeRoot()
            defer { try? FileManager.default.removeItem(at: freshRoot.url) }
            let fresh = BuildCache(local: LocalCacheBackend(root: freshRoot), remotes: [CacheSource(remote, mode: .writeOnly)])
            #expect(await fresh.lookup([stored.key], store: ContentStore(root: freshRoot)).isEmpty)
        }
    }

    @Test func aSilentCacheCostsOneTimeoutAndOneWarning() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(at: root.url) }
        let listener = try SilentListener()
        let warnings = WarningLog()
        let remote = RegistryCacheBackend(
            client: RegistryClient(registry: "127.0.0.1:\(listener.port)", configuration: .init(retryPolicy: .none)),
            repository: "ci/cache")
        let cache = BuildCache(local: LocalCacheBackend(root: root), remotes: [CacheSource(remote, mode: .readWrite)],
                               timeout: .milliseconds(500), onWarning: { warnings.append($0) })
        let store = ContentStore(root: root)
        let blob = try await store.ingest(data: Data("layer".utf8))
        let local = entry("local", blob: blob)
        try await cache.store(local, blobsIn: store)
        let hits = await cache.lookup([local.key, CacheKey(digest: Digest.sha256(of: Data("other".utf8)))], store: store)
        #expect(hits[local.key]?.first?.isLocal == true)
        #expect(hits.count == 1)
        // A second lookup does not try the failed backend again.
        _ = await cache.lookup([CacheKey(digest: Digest.sha256(of: Data("third".utf8)))], store: store)
        await cache.finish(within: .seconds(5))
        #expect(warnings.all.count == 1, "\(warnings.all)")
        #expect(warnings.all.first?.contains("127.0.0.1:\(listener.port)/ci/cache is unavailable") == true)
        #expect(await cache.failedBackends == ["127.0.0.1:\(listener.port)/ci/cache"])
        // The local store still happened.
        #expect(LocalCacheBackend(root: root).read(local.key) == [local])
    }
}
