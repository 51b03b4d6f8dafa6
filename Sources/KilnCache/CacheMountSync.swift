import Foundation
import KilnOCI
import KilnStorage

/// Which cache mount ids follow the registry caches (`--remote-cache-mounts`).
public enum CacheMountSelection: Sendable, Hashable {
    /// Every id a build mounts (the default).
    case all
    /// None: cache mounts stay on the machine.
    case none
    /// These ids only.
    case ids(Set<String>)

    /// Parses `all`, `none` or `ID[,ID…]`.
    public init(parsing text: String) {
        switch text {
        case "all", "": self = .all
        case "none": self = .none
        default: self = .ids(Set(text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }))
        }
    }

    /// Whether `id` is selected.
    public func contains(_ id: String) -> Bool {
        switch self {
        case .all: true
        case .none: false
        case .ids(let ids): ids.contains(id)
        }
    }
}

/// The cache mounts of one build and the registry caches they follow: imports each selected
/// id from the caches the build may read before the first step that mounts it, exports it to
/// the caches the build may write after the build succeeds, and keeps each id within its
/// size cap. Which caches are read and written is exactly what the build was told
/// (`--cache-repo` both, `--cache-from` read, `--cache-to` write), and the local directories
/// are scoped the same way (``CacheMountStore/scope``), so a build can never put a file into
/// a cache it may not write. Never part of a cache key or a layer; every failure here is a
/// warning, never a failed build.
public actor CacheMountSync {
    /// The build's cache mount directories.
    public nonisolated let store: CacheMountStore
    private let reads: [any CacheMountRemote]
    private let writes: [any CacheMountRemote]
    private let selection: CacheMountSelection
    private let maximumSize: Int64?
    private let info: @Sendable (String) -> Void
    private let warning: @Sendable (String) -> Void
    private var filled: Set<String> = []
    private var used: [String: URL] = [:]
    /// States read from remotes in this build, by remote name and id.
    private var read: [String: (index: CacheMountIndex, digest: Digest)] = [:]

    /// The newest state of `id` in `remote`, read once per build unless it changed.
    private func state(of id: String, in remote: any CacheMountRemote) async throws -> (index: CacheMountIndex, digest: Digest)? {
        let key = remote.name + "\n" + id
        let state = try await remote.fetchMountState(id, known: read[key])
        read[key] = state
        return state
    }

    /// The sync of a build with cache mounts under `directory` and the remote caches
    /// `sources`; `maximumSize` caps each id (nil: no cap).
    public init(directory: URL, sources: [CacheSource], selection: CacheMountSelection, maximumSize: Int64?,
                info: @escaping @Sendable (String) -> Void, warning: @escaping @Sendable (String) -> Void) {
        let reads = sources.filter(\.reads).map(\.backend.name)
        let writes = sources.filter(\.writes).map(\.backend.name)
        store = CacheMountStore(directory: directory, scope: CacheMountStore.scope(reads: reads, writes: writes))
        self.reads = sources.filter(\.reads).compactMap { $0.backend as? any CacheMountRemote }
        self.writes = sources.filter(\.writes).compactMap { $0.backend as? any CacheMountRemote }
        self.selection = selection
        self.maximumSize = maximumSize
        self.info = info
        self.warning = warning
    }

    /// Whether the lease of `id` about to be taken should import: the first use of a
    /// selected id in this build, when there is a cache to read. Records the use.
    public func claimImport(of id: String) -> Bool {
        used[id] = store.path(of: id)
        guard selection.contains(id), !reads.isEmpty else { return false }
        return filled.insert(id).inserted
    }

    /// Brings the directory `path` of `id` up to date with the readable caches (the first
    /// named wins where two differ). `scratch` is the build's scratch directory.
    public func importState(of id: String, into path: URL) async {
        for remote in reads.reversed() {
            do {
                guard let (index, digest) = try await state(of: id, in: remote) else { continue }
                if store.lastExchange(path, with: remote.name) == digest { continue }
                let staging = store.directory.appendingPathComponent(".new-import-\(UUID().uuidString.lowercased())")
                defer { try? FileManager.default.removeItem(at: staging) }
                let result = try await store.apply(
                    index.capped(at: maximumSize), indexDigest: digest, from: remote.name, to: path, staging: staging,
                    fetch: { blob, file in try await remote.fetchMountBlob(blob, to: file) })
                info("cache mount \(id): imported generation \(index.generation) from \(remote.name): "
                     + "\(result.written) entries written, \(result.downloaded) blobs (\(Self.bytes(result.downloadedBytes))) downloaded, "
                     + "\(result.copiedLocally) copied on this machine, \(result.kept) kept as they were")
            } catch is CancellationError {
                return
            } catch {
                warning("cache mount \(id): not imported from \(remote.name): \(error)")
            }
        }
    }

    /// Exports every selected id this build mounted to the writable caches, then trims each
    /// used id to the size cap. Call it once the build has succeeded.
    public func finish(created: String) async {
        for (id, path) in used.sorted(by: { $0.key < $1.key }) {
            guard FileManager.default.fileExists(atPath: path.path) else { continue }
            if selection.contains(id) {
                for remote in writes { await export(id, path: path, to: remote, created: created) }
            }
            if let maximumSize, let trimmed = try? store.trim(path, to: maximumSize), trimmed.files > 0 {
                info("cache mount \(id): \(trimmed.files) least recently used files (\(Self.bytes(trimmed.bytes))) removed to stay within \(Self.bytes(maximumSize))")
            }
        }
    }

    /// Merges this machine's state of `id` with the newest one in `remote` and stores the
    /// result there, unless it is what `remote` already has. Entries only the remote has stay
    /// (another builder's additions) unless this directory had them and removed them.
    private func export(_ id: String, path: URL, to remote: any CacheMountRemote, created: String) async {
        do {
            let lease = try await store.lease(id: id, sharing: .shared, creation: .init(), scratch: store.directory) { nil }
            defer { lease.release() }
            let current = try await state(of: id, in: remote)
            let state = try await store.describe(path, id: id, created: created, generation: (current?.index.generation ?? 0) + 1)
            var entries = state.index.entries
            if let current {
                let local = Set(entries.map(\.path))
                entries += current.index.entries.filter { !local.contains($0.path) && !state.previouslyKnown.contains($0.path) }
            }
            let merged = CacheMountIndex(id: id, created: created, generation: state.index.generation, root: state.index.root,
                                         entries: entries).capped(at: maximumSize)
            if let current, current.index.entries == merged.entries, current.index.root == merged.root {
                try store.noteExchange(path, with: remote.name, index: current.digest)
                return
            }
            let present = Set(current?.index.blobs.map(\.digest) ?? [])
            let uploads = merged.blobs.filter { !present.contains($0.digest) }
            let store = store
            let contents = state.contents
            let digest = try await remote.storeMountState(merged, present: present) { digest in
                guard let relative = contents[digest] else { throw CacheError.missingBlob(digest) }
                return try store.openContent(relative, in: path)
            }
            try store.noteExchange(path, with: remote.name, index: digest)
            info("cache mount \(id): exported generation \(merged.generation) to \(remote.name): \(merged.entries.count) entries, "
                 + "\(uploads.count) new blobs (\(Self.bytes(uploads.reduce(0) { $0 + $1.size })))")
        } catch is CancellationError {
            return
        } catch {
            warning("cache mount \(id): not exported to \(remote.name): \(error)")
        }
    }

    private static func bytes(_ count: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: count, countStyle: .binary)
    }
}
