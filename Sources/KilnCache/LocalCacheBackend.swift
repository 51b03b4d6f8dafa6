import Foundation
import KilnOCI
import KilnStorage

/// The embedded default: entries as JSON files under `$KILN_ROOT/cache/entries/<key hex>/`,
/// one file per variant (`<variant hex>.json`), their layer blobs in the same root's content
/// store. Two builds storing different results for one key write two files: neither
/// replaces the other.
public struct LocalCacheBackend: CacheBackend {
    /// `cache/entries/`.
    public let directory: URL
    private let store: ContentStore

    /// The local cache of `root`.
    public init(root: KilnRoot) {
        self.directory = root.cache.appendingPathComponent("entries")
        self.store = ContentStore(root: root)
    }

    /// `local`.
    public var name: String { "local" }

    /// The directory holding `key`'s variants.
    public func path(for key: CacheKey) -> URL {
        directory.appendingPathComponent(key.digest.encoded)
    }

    /// Where one variant lives.
    func path(for entry: CacheEntry) -> URL {
        path(for: entry.key).appendingPathComponent(entry.variant.encoded + ".json")
    }

    /// Every usable variant of each key, each marked as used now; one whose layer blob was
    /// pruned from the content store is left out.
    public func lookup(_ keys: [CacheKey]) async throws -> [CacheKey: [CacheEntry]] {
        var found: [CacheKey: [CacheEntry]] = [:]
        for key in keys {
            let usable = read(key).filter { entry in
                entry.layer.map { store.size(of: $0.descriptor.digest) == $0.descriptor.size } ?? true
            }
            guard !usable.isEmpty else { continue }
            for entry in usable { touch(entry) }
            found[key] = usable
        }
        return found
    }

    /// The variants stored for `key`, oldest first; unreadable or inconsistent files are skipped.
    public func read(_ key: CacheKey) -> [CacheEntry] {
        let folder = path(for: key)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)),
                  let entry = try? JSONDecoder().decode(CacheEntry.self, from: data),
                  entry.key == key, entry.isConsistent, name == entry.variant.encoded + ".json"
            else { return nil }
            return entry
        }.sorted { $0.created < $1.created }
    }

    /// Every entry, for `kiln cache ls` and for explaining a miss.
    public func entries() throws -> [CacheEntry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.sorted().flatMap { name -> [CacheEntry] in
            guard let digest = Digest("sha256:" + name) else { return [] }
            return read(CacheKey(digest: digest))
        }
    }

    /// Writes the variant atomically (temp file, fsync, rename), so a reader never sees half of
    /// one; another variant of the same key is left as it is.
    public func store(_ entry: CacheEntry, blobsIn store: ContentStore) async throws {
        if let layer = entry.layer, store.size(of: layer.descriptor.digest) != layer.descriptor.size {
            throw CacheError.missingBlob(layer.descriptor.digest)
        }
        try FileManager.default.createDirectory(at: path(for: entry.key), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try StagedFile.write(try encoder.encode(entry), to: path(for: entry))
    }

    /// Removes every variant of `key`; true when there was one.
    @discardableResult
    public func remove(_ key: CacheKey) throws -> Bool {
        let url = path(for: key)
        guard FileManager.default.fileExists(atPath: url.path) else { return false }
        try FileManager.default.removeItem(at: url)
        return true
    }

    /// Removes one variant; true when it was there. The key's folder goes with its last variant.
    @discardableResult
    func remove(_ entry: CacheEntry) throws -> Bool {
        let url = path(for: entry)
        guard FileManager.default.fileExists(atPath: url.path) else { return false }
        try FileManager.default.removeItem(at: url)
        _ = rmdir(path(for: entry.key).path)
        return true
    }
}
