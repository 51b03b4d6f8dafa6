import Foundation
import KilnOCI
import KilnStorage

/// Remembers the SHA-256 of context files by what `stat` says about them — (path, size,
/// mtime, ctime, inode) — so an unchanged context is not read again, and persists it (e.g.
/// `$KILN_ROOT/cache/context-digests`) so the next build starts warm.
///
/// A file whose size, mtime, ctime or inode changed is hashed again: an editor's
/// write-and-rename changes the inode, an in-place write the mtime, `touch -m` back to an old
/// time still moves the ctime. The memo is a speed-up only; losing or corrupting the file
/// costs a re-hash, never a wrong digest of an unchanged stat.
///
/// A file changed within the filesystem's timestamp granularity of being hashed can change
/// again without its stat changing (git's "racy clean" problem): such a digest is never
/// remembered, so the file is read again next time.
public actor FileDigestMemo {
    /// What a file looked like when it was hashed.
    struct Stamp: Hashable, Sendable {
        var size: Int64
        var mtimeNanoseconds: Int64
        var ctimeNanoseconds: Int64
        var inode: UInt64
    }

    private struct Record {
        var stamp: Stamp
        var digest: Digest
    }

    /// Where the memo is persisted.
    public let file: URL
    private var records: [String: Record] = [:]
    private var dirty = false
    /// Lookups answered from the memo since it was opened.
    public private(set) var hits = 0
    /// Lookups that had to read the file since it was opened.
    public private(set) var misses = 0

    /// Opens the memo persisted at `file`; a missing or unreadable file starts it empty.
    public init(file: URL) {
        self.file = file
        if let data = try? Data(contentsOf: file) {
            records = Self.parse(data)
        }
    }

    /// The number of remembered files.
    public var count: Int { records.count }

    /// The remembered digest of `path` if it still has `stamp`; counts a hit or a miss.
    func digest(of path: String, stamp: Stamp) -> Digest? {
        if let record = records[path], record.stamp == stamp {
            hits += 1
            return record.digest
        }
        misses += 1
        return nil
    }

    /// How close to the time of hashing a file's mtime or ctime may be before its digest is
    /// not trusted: coarse filesystem clocks tick in up to a second (kernel timestamps come
    /// from a clock updated every few milliseconds; some filesystems keep whole seconds).
    static let racyWindowNanoseconds: Int64 = 1_000_000_000

    /// Remembers that `path` with `stamp` hashed to `digest` — unless the file changed so
    /// recently before `hashedAt` (nanoseconds since the epoch) that a change after the hash
    /// could leave the same stamp.
    func remember(_ digest: Digest, of path: String, stamp: Stamp,
                  hashedAt: Int64 = Int64(Date().timeIntervalSince1970 * 1_000_000_000)) {
        guard hashedAt - max(stamp.mtimeNanoseconds, stamp.ctimeNanoseconds) > Self.racyWindowNanoseconds else { return }
        records[path] = Record(stamp: stamp, digest: digest)
        dirty = true
    }

    /// Writes the memo to ``file`` atomically (temp file, fsync, rename), if anything changed.
    public func save() throws {
        guard dirty else { return }
        var text = "kiln-context-digests v1\n"
        for (path, record) in records.sorted(by: { $0.key < $1.key }) where !path.contains("\n") {
            let stamp = record.stamp
            text += "\(record.digest.encoded) \(stamp.size) \(stamp.mtimeNanoseconds) \(stamp.ctimeNanoseconds) \(stamp.inode) \(path)\n"
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try StagedFile.write(Data(text.utf8), to: file)
        dirty = false
    }

    private static func parse(_ data: Data) -> [String: Record] {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard lines.first == "kiln-context-digests v1" else { return [:] }
        var records: [String: Record] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count == 6,
                  let digest = try? Digest(parsing: "sha256:" + fields[0]),
                  let size = Int64(fields[1]), let mtime = Int64(fields[2]),
                  let ctime = Int64(fields[3]), let inode = UInt64(fields[4]) else { continue }
            records[String(fields[5])] = Record(
                stamp: Stamp(size: size, mtimeNanoseconds: mtime, ctimeNanoseconds: ctime, inode: inode),
                digest: digest)
        }
        return records
    }
}
