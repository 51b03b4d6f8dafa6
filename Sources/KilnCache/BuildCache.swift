import Foundation
import KilnOCI
import KilnStorage

/// A cache backend together with what a build may do with it.
public struct CacheSource: Sendable {
    /// What a build does with a backend (`--cache-repo` both, `--cache-from` read, `--cache-to` write).
    public enum Mode: String, Sendable, Hashable {
        /// Look up and store.
        case readWrite
        /// Look up only.
        case readOnly
        /// Store only.
        case writeOnly
    }

    /// The backend.
    public var backend: any CacheBackend
    /// Whether lookups and stores go to it.
    public var mode: Mode

    /// Creates a source.
    public init(_ backend: any CacheBackend, mode: Mode) {
        self.backend = backend
        self.mode = mode
    }

    var reads: Bool { mode != .writeOnly }
    var writes: Bool { mode != .readOnly }
}

/// A cache hit and where it was found.
public struct CacheHit: Sendable, Hashable {
    /// The entry.
    public var entry: CacheEntry
    /// ``CacheBackend/name`` of the backend that had it.
    public var backendName: String
    /// Whether its layer blob is already in the local content store.
    public var isLocal: Bool
}

/// The cache one build talks to: the local backend (always on) in front of any remote ones.
///
/// A remote backend that fails or does not answer within ``timeout`` is reported once as a
/// warning and then left alone for the rest of the build: the build goes on as if it missed,
/// and is never slower than a cache-less build by more than the timeout. Remote stores run in
/// the background; ``finish(within:)`` waits for them, bounded, before the build exits.
public actor BuildCache {
    /// The embedded default.
    public let local: LocalCacheBackend
    /// Remote backends in the order given.
    public let remotes: [CacheSource]
    /// How long one remote lookup or store may take.
    public let timeout: Duration
    /// Whether lookups are skipped (`--no-cache`); stores still happen.
    public let skipLookups: Bool
    private let onWarning: @Sendable (String) -> Void
    private var failed: Set<String> = []
    private var pendingStores: [Task<Void, Never>] = []

    /// Creates the cache of one build.
    public init(local: LocalCacheBackend, remotes: [CacheSource] = [], timeout: Duration = .seconds(10),
                skipLookups: Bool = false, onWarning: @escaping @Sendable (String) -> Void = { _ in }) {
        self.local = local
        self.remotes = remotes
        self.timeout = timeout
        self.skipLookups = skipLookups
        self.onWarning = onWarning
    }

    /// Looks every key up: locally first, then, when any key has no local variant, every key
    /// in the readable remotes until each has an answer. Each key maps to all the variants found; which one (if any)
    /// fits is for the caller to decide from their bases.
    public func lookup(_ keys: [CacheKey], store: ContentStore) async -> [CacheKey: [CacheHit]] {
        guard !skipLookups, !keys.isEmpty else { return [:] }
        var hits: [CacheKey: [CacheHit]] = [:]
        for (key, entries) in (try? await local.lookup(keys)) ?? [:] {
            hits[key] = entries.map { CacheHit(entry: $0, backendName: local.name, isLocal: true) }
        }
        // Once one key misses here, the remotes are asked for every key, and their variants
        // join the local ones: a step this machine ran itself (its own variant) may be the
        // parent another machine built the missing steps on, and only that machine's variant
        // lets them hit (the variant chooser picks the variant the most steps hit with).
        var missing = Set(keys.filter { hits[$0] == nil })
        for source in remotes where source.reads && !missing.isEmpty && !failed.contains(source.backend.name) {
            let backend = source.backend
            do {
                let found = try await Self.withTimeout(timeout) { try await backend.lookup(keys) }
                join(found, from: backend, into: &hits, store: store)
                missing.subtract(found.keys)
            } catch {
                warn(backend.name, error)
            }
        }
        return hits
    }

    /// `hits` with every variant of `keys` the readable remotes hold added, also those a key's
    /// list lost to a concurrent writer (``CacheBackend/completeVariants(_:)``): for a build
    /// whose fitting variants cannot reach a step the cache knows.
    public func completeVariants(_ keys: [CacheKey], joining hits: [CacheKey: [CacheHit]],
                                 store: ContentStore) async -> [CacheKey: [CacheHit]] {
        guard !skipLookups, !keys.isEmpty else { return hits }
        var hits = hits
        for source in remotes where source.reads && !failed.contains(source.backend.name) {
            let backend = source.backend
            do {
                join(try await Self.withTimeout(timeout) { try await backend.completeVariants(keys) }, from: backend, into: &hits, store: store)
            } catch {
                warn(backend.name, error)
            }
        }
        return hits
    }

    /// Adds `found`'s variants that `hits` lacks, each marked local when its blob is in `store`.
    private func join(_ found: [CacheKey: [CacheEntry]], from backend: any CacheBackend,
                      into hits: inout [CacheKey: [CacheHit]], store: ContentStore) {
        for (key, entries) in found {
            let known = hits[key] ?? []
            hits[key] = known + entries.filter { entry in !known.contains { $0.entry.variant == entry.variant } }.map { entry in
                let isLocal = entry.layer.map { store.size(of: $0.descriptor.digest) == $0.descriptor.size } ?? true
                return CacheHit(entry: entry, backendName: backend.name, isLocal: isLocal)
            }
        }
    }

    /// Gives every writable remote, in the background, an entry this build used that it found
    /// elsewhere (a machine that built before `--cache-repo` was added, a `--cache-from` copied
    /// to a `--cache-to`): one lookup, and a store when the remote lacks that variant and its
    /// blob is here.
    public func share(_ hit: CacheHit, blobsIn store: ContentStore) {
        guard hit.isLocal else { return }
        for source in remotes where source.writes && !failed.contains(source.backend.name) && source.backend.name != hit.backendName {
            let backend = source.backend
            let entry = hit.entry
            let timeout = timeout
            pendingStores.append(Task {
                do {
                    let present = try await Self.withTimeout(timeout) { try await backend.lookup([entry.key]) }
                    if present[entry.key]?.contains(where: { $0.variant == entry.variant }) != true {
                        try await Self.withTimeout(timeout) { try await backend.store(entry, blobsIn: store) }
                    }
                } catch {
                    self.warn(backend.name, error)
                }
            })
        }
    }

    /// Stores `entry` locally now and in every writable remote in the background.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws {
        try await local.store(entry, blobsIn: store)
        for source in remotes where source.writes && !failed.contains(source.backend.name) {
            let backend = source.backend
            let timeout = timeout
            pendingStores.append(Task {
                do {
                    try await Self.withTimeout(timeout) { try await backend.store(entry, blobsIn: store) }
                } catch {
                    self.warn(backend.name, error)
                }
            })
        }
    }

    /// Waits for the background stores, at most `limit`; returns how many were still running
    /// (and were cancelled) when it ran out.
    @discardableResult
    public func finish(within limit: Duration) async -> Int {
        let tasks = pendingStores
        pendingStores = []
        let all = Task { for task in tasks { await task.value } }
        let finished = await Self.race(limit) { await all.value }
        guard !finished else { return 0 }
        for task in tasks { task.cancel() }
        let unfinished = tasks.count
        onWarning("cache: gave up waiting for \(unfinished) cache upload(s) after \(limit)")
        return unfinished
    }

    /// Puts `hit`'s layer blob into `store`, from the backend that answered, and records the
    /// entry locally once the blob is there, so the next build on this machine hits locally.
    public func fetchLayer(of hit: CacheHit, into store: ContentStore) async throws {
        guard let layer = hit.entry.layer else { return }
        if store.size(of: layer.descriptor.digest) == layer.descriptor.size { return }
        guard let source = remotes.first(where: { $0.backend.name == hit.backendName }) else {
            throw CacheError.missingBlob(layer.descriptor.digest)
        }
        try await source.backend.fetchLayer(layer, into: store)
        try? await local.store(hit.entry, blobsIn: store)
    }

    /// The entries a miss is compared with to explain it, read once per build: the local ones
    /// and those of every readable remote (listing a remote costs one request per entry, so
    /// only `--explain-cache` asks; a remote that fails here is warned about like any other).
    public func explanationCandidates() async -> [CacheEntry] {
        if let candidates { return candidates }
        var read = (try? local.entries()) ?? []
        for source in remotes where source.reads && !failed.contains(source.backend.name) {
            let backend = source.backend
            do {
                read += try await Self.withTimeout(timeout) { try await backend.entries() }
            } catch {
                warn(backend.name, error)
            }
        }
        candidates = read
        return read
    }

    private var candidates: [CacheEntry]?

    /// Names of the remotes that failed during this build.
    public var failedBackends: Set<String> { failed }

    private func warn(_ name: String, _ error: any Error) {
        guard !failed.contains(name) else { return }
        failed.insert(name)
        onWarning("cache \(name) is unavailable, building without it: \(error)")
    }

    /// Runs `body`, throwing ``CacheTimeout`` when it takes longer than `limit`.
    static func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CacheTimeout(limit: limit) }
            return value
        }
    }

    /// Whether `body` finished within `limit`.
    private static func race(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await body()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// A remote cache operation that took longer than the build's cache timeout.
public struct CacheTimeout: Error, Sendable, CustomStringConvertible {
    /// The limit.
    public var limit: Duration
    /// `no answer within 10 seconds`.
    public var description: String { "no answer within \(limit)" }
}
