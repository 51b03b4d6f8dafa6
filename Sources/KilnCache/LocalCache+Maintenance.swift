import Foundation
import KilnOCI
import KilnStorage

/// What the local cache holds, for `kiln cache du`.
public struct LocalCacheUsage: Sendable, Hashable, Codable {
    /// Cache entries.
    public var entries: Int
    /// Bytes of the layer blobs the entries refer to (each blob counted once).
    public var layerBytes: Int64
    /// Bytes of every blob in the content store (cached layers, base image layers, configs).
    public var storeBytes: Int64
    /// Unpacked layer chains and layer snapshots under `snapshots/`.
    public var snapshots: Int
}

/// What `kiln cache prune` removed.
public struct LocalCachePruneReport: Sendable, Hashable, Codable {
    /// Entries removed.
    public var entries: Int
    /// Blobs removed.
    public var blobs: Int
    /// Bytes of the blobs removed.
    public var blobBytes: Int64
    /// Snapshot directories removed.
    public var snapshots: Int
}

extension LocalCacheBackend {
    /// Sizes of what the cache and the rest of the root hold.
    public func usage(root: KilnRoot) throws -> LocalCacheUsage {
        let store = ContentStore(root: root)
        let entries = try entries()
        var layers: [Digest: Int64] = [:]
        for entry in entries { if let layer = entry.layer { layers[layer.descriptor.digest] = layer.descriptor.size } }
        let storeBytes = Self.blobFiles(in: store).reduce(Int64(0)) { $0 + $1.size }
        return LocalCacheUsage(entries: entries.count, layerBytes: layers.values.reduce(0, +), storeBytes: storeBytes,
                               snapshots: SnapshotStore(root: root).usage().count)
    }

    /// Removes entries not used since `cutoff`, then every blob and snapshot that no remaining
    /// entry needs and that was not written since `cutoff` (a build running now only writes
    /// fresh files, so it loses nothing).
    public func prune(root: KilnRoot, unusedSince cutoff: Date) throws -> LocalCachePruneReport {
        var report = LocalCachePruneReport(entries: 0, blobs: 0, blobBytes: 0, snapshots: 0)
        var keep = Set<Digest>()
        for entry in try entries() {
            if Self.modified(path(for: entry)) < cutoff {
                if try remove(entry) { report.entries += 1 }
            } else if let layer = entry.layer {
                keep.insert(layer.descriptor.digest)
            }
        }
        report.entries += removeEarlierFormats(in: root)
        let store = ContentStore(root: root)
        for blob in Self.blobFiles(in: store) where !keep.contains(blob.digest) && blob.modified < cutoff {
            if try store.delete(blob.digest) {
                report.blobs += 1
                report.blobBytes += blob.size
            }
        }
        report.snapshots = SnapshotStore(root: root).evict(freeing: .max, usedBefore: cutoff).count
        return report
    }

    /// Marks a variant as used now, so pruning by age keeps what builds still hit.
    func touch(_ entry: CacheEntry) {
        _ = utimes(path(for: entry).path, nil)
    }

    /// Entries of earlier key versions (`cache/<hex>.json`, one per key): no key computes to
    /// them any more, so they go whatever their age.
    private func removeEarlierFormats(in root: KilnRoot) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.cache.path)) ?? []
        var removed = 0
        for name in names where name.hasSuffix(".json") && name.count == 69 {
            if (try? FileManager.default.removeItem(at: root.cache.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    static func modified(_ url: URL) -> Date {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
    }

    static func blobFiles(in store: ContentStore) -> [(digest: Digest, size: Int64, modified: Date)] {
        let directory = store.directory.appendingPathComponent("sha256")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in
            guard let digest = Digest("sha256:" + name) else { return nil }
            var info = stat()
            guard stat(directory.appendingPathComponent(name).path, &info) == 0 else { return nil }
            return (digest, Int64(info.st_size), Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }
    }

}
