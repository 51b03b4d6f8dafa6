import Foundation
import KilnOCI
import KilnStorage

/// The embedded default: entries as JSON files under `$KILN_ROOT/cache/<key hex>.json`,
/// their layer blobs in the same root's content store.
public struct LocalCacheBackend: CacheBackend {
    /// `cache/`.
    public let directory: URL
    private let store: ContentStore

    /// The local cache of `root`.
    public init(root: KilnRoot) {
        self.directory = root.cache
        self.store = ContentStore(root: root)
    }

    /// `local`.
    public var name: String { "local" }

    /// Where `key`'s entry lives.
    public func path(for key: CacheKey) -> URL {
        directory.appendingPathComponent(key.digest.encoded + ".json")
    }

    /// The entries found, each marked as used now; one whose layer blob was pruned from the
    /// content store is a miss.
    public func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: CacheEntry] {
        var found: [CacheKey: CacheEntry] = [:]
        for key in keys {
            guard let entry = try? read(key) else { continue }
            if let layer = entry.layer, store.size(of: layer.descriptor.digest) != layer.descriptor.size { continue }
            touch(key)
            found[key] = entry
        }
        return found
    }

    /// Reads one entry; nil when there is none.
    public func read(_ key: CacheKey) throws -> CacheEntry? {
        let url = path(for: key)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let entry = try JSONDecoder().decode(CacheEntry.self, from: Data(contentsOf: url))
        return entry.key == key ? entry : nil
    }

    /// Every entry, for `kiln cache ls` and for explaining a miss.
    public func entries() throws -> [CacheEntry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.sorted().compactMap { name in
            guard name.hasSuffix(".json"), let digest = Digest("sha256:" + name.dropLast(5)) else { return nil }
            return try? read(CacheKey(digest: digest))
        }
    }

    /// Writes the entry atomically (temp file, fsync, rename), so a reader never sees half of one.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws {
        if let layer = entry.layer, store.size(of: layer.descriptor.digest) != layer.descriptor.size {
            throw CacheError.missingBlob(layer.descriptor.digest)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try StagedFile.write(try encoder.encode(entry), to: path(for: entry.key))
    }

    /// Removes `key`'s entry; true when there was one.
    @discardableResult
    public func remove(_ key: CacheKey) throws -> Bool {
        let url = path(for: key)
        guard FileManager.default.fileExists(atPath: url.path) else { return false }
        try FileManager.default.removeItem(at: url)
        return true
    }
}
