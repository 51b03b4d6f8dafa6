import ArgumentParser
import Foundation
import KilnCache
import KilnDistribution
import KilnOCI
import KilnStorage

/// The shared-cache flags of `kiln build` (`--no-cache` stays with the build's own flags).
struct CacheFlags: ParsableArguments {
    @Option(name: .customLong("cache-repo"), help: "A registry repository, REGISTRY/REPO, to read and write cache entries (repeatable).")
    var cacheRepo: [String] = []

    @Option(name: .customLong("cache-from"), help: "A registry repository to read cache entries from (repeatable).")
    var cacheFrom: [String] = []

    @Option(name: .customLong("cache-to"), help: "A registry repository to write cache entries to (repeatable).")
    var cacheTo: [String] = []

    @Option(name: .customLong("cache-timeout"), help: "How long one registry cache lookup or upload may take: 10s, 2m, or seconds.",
            transform: CacheFlags.parseTimeout)
    var cacheTimeout: TimeInterval = 10

    @Option(name: .customLong("no-cache-filter"), help: "Do not use cached steps for this stage, by name or index (repeatable).")
    var noCacheFilter: [String] = []

    @Option(name: .customLong("remote-cache-mounts"),
            help: "Which RUN --mount=type=cache ids are imported from the readable registry caches and exported to the writable ones: all (default), none, or ID[,ID…].")
    var remoteCacheMounts = "all"

    @Option(name: .customLong("cache-mount-max-size"),
            help: "The most one cache mount id keeps, on this machine and in a registry cache: 10G, 512M, or 0 for no cap (default 10G); least recently used files go first.",
            transform: CacheFlags.parseSize)
    var cacheMountMaxSize: Int64 = 10 << 30

    @Flag(name: .customLong("explain-cache"), help: "For every cache miss, say which input differs from the closest earlier entry.")
    var explainCache = false

    /// Each repository flag with the mode it asks for, in the order given (reads before writes).
    func repositories() throws -> [(reference: Reference, mode: CacheSource.Mode)] {
        var out: [(Reference, CacheSource.Mode)] = []
        for (texts, mode) in [(cacheRepo, CacheSource.Mode.readWrite), (cacheFrom, .readOnly), (cacheTo, .writeOnly)] {
            for text in texts { out.append((try parseRegistryReference(text), mode)) }
        }
        return out
    }

    /// The registry backends, each over `pool`'s client for its registry.
    func sources(pool: RegistryPool) async throws -> [CacheSource] {
        var sources: [CacheSource] = []
        for (reference, mode) in try repositories() {
            sources.append(CacheSource(await RegistryCacheBackend(reference, pool: pool), mode: mode))
        }
        return sources
    }

    /// Repositories whose blobs a push may mount: every cache that was read.
    func mountSources() throws -> [Reference] {
        try repositories().filter { $0.mode != .writeOnly }.map(\.reference)
    }

    /// `10G`, `512M`, `1048576`.
    static func parseSize(_ text: String) throws -> Int64 {
        guard case .absolute(let value)? = DiskReserve.Amount(parsing: text, allowsSizeSuffix: true), value <= UInt64(Int64.max) else {
            throw ValidationError("--cache-mount-max-size takes a size: 10G, 512M, 1048576, or 0 for no cap")
        }
        return Int64(value)
    }

    /// `10s`, `2m`, `1.5` (seconds).
    static func parseTimeout(_ text: String) throws -> TimeInterval {
        if let seconds = Double(text), seconds > 0 { return seconds }
        let value = try KeepDuration.parse(text)
        guard value > 0 else { throw ValidationError("--cache-timeout must be more than zero") }
        return value
    }
}

extension RegistryCacheBackend {
    /// The cache in `reference`'s repository, over `pool`'s client for its registry.
    init(_ reference: Reference, pool: RegistryPool) async {
        self.init(client: await pool.client(for: reference.registry), repository: reference.repository)
    }

    /// The cache a `--cache-repo REGISTRY/REPO` argument names.
    init(repository text: String, pool: RegistryPool) async throws {
        await self.init(try parseRegistryReference(text), pool: pool)
    }
}

extension Array {
    /// `map` with an async transform, one element after another.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
