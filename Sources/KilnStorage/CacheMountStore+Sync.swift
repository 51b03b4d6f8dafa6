import Foundation
import Glibc
import KilnOCI
import KilnConcurrency

/// What one cache directory last exchanged with registry caches, kept beside it as
/// `<hex>.sync.json`: each file's digest with the status it had when it was hashed or
/// written (so an unchanged file is never read again), and per registry cache the digest of
/// the index last imported from or exported to it (so an unchanged remote costs one request).
struct CacheMountSyncRecord: Codable {
    struct File: Codable {
        var size: Int64
        var mtime: [Int64]
        var ctime: [Int64]
        var inode: UInt64
        var digest: Digest

        init(_ status: FileStatus, digest: Digest) {
            size = status.size
            mtime = [status.mtime.seconds, status.mtime.nanoseconds]
            ctime = [status.ctime.seconds, status.ctime.nanoseconds]
            inode = status.inode
            self.digest = digest
        }

        /// Whether the file still is what was hashed: ctime moves with any write or rename.
        func matches(_ status: FileStatus) -> Bool {
            size == status.size && inode == status.inode && mtime == [status.mtime.seconds, status.mtime.nanoseconds]
                && ctime == [status.ctime.seconds, status.ctime.nanoseconds]
        }
    }

    var files: [String: File] = [:]
    var remotes: [String: Digest] = [:]

    static func url(of directory: URL) -> URL {
        URL(fileURLWithPath: directory.path + ".sync.json")
    }

    static func read(for directory: URL) -> CacheMountSyncRecord {
        guard let data = try? Data(contentsOf: url(of: directory)),
              let record = try? JSONDecoder().decode(CacheMountSyncRecord.self, from: data)
        else { return CacheMountSyncRecord() }
        return record
    }

    func write(for directory: URL) throws {
        try StagedFile.write(try JSONEncoder().encode(self), to: Self.url(of: directory))
    }
}

/// A cache directory described for an export.
public struct CacheMountState: Sendable {
    /// Its entries, as an index (with the `created` and `generation` it was asked for).
    public var index: CacheMountIndex
    /// The paths of the files the directory had when it last exchanged with a registry
    /// cache: one of those that is gone now was removed here, not added elsewhere.
    public var previouslyKnown: Set<String>
    /// A path holding each blob's content, relative to the directory.
    public var contents: [Digest: String]
}

/// What one import did.
public struct CacheMountImport: Sendable {
    /// Entries written (files, directories, links).
    public var written = 0
    /// Blobs downloaded and their bytes.
    public var downloaded = 0
    public var downloadedBytes: Int64 = 0
    /// Blobs copied from another cache directory on this machine instead.
    public var copiedLocally = 0
    /// Entries left as they are because the directory has its own version, or a parent
    /// is not a plain directory here.
    public var kept = 0
}

extension CacheMountStore {
    /// Describes cache directory `path` for an export: every file, directory and link below
    /// it, files hashed only when they changed since the last exchange. Call it while
    /// holding the cache (a lease).
    public func describe(_ path: URL, id: String, created: String, generation: Int) async throws -> CacheMountState {
        let snapshot = try await Snapshot.capture(path)
        guard let rootMetadata = try TreeWalker.readMetadata(absolutePath: path.path) else {
            throw StorageError.system(operation: "statx", path: path.path, errno: ENOENT)
        }
        let old = CacheMountSyncRecord.read(for: path)
        var record = CacheMountSyncRecord(files: [:], remotes: old.remotes)
        let tree = try CacheMountTree(path)
        var entries: [CacheMountIndex.Entry] = []
        var contents: [Digest: String] = [:]
        for (relative, metadata) in snapshot.entries.sorted(by: { $0.key < $1.key }) {
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(CacheMountTree.temporaryPrefix) }) { continue }
            let kind: CacheMountIndex.Entry.Kind
            var digest: Digest?
            var size: Int64 = 0
            switch metadata.kind {
            case .directory: kind = .directory
            case .symlink: kind = .symlink
            case .regular:
                kind = .file
                size = metadata.size
                guard size > 0 else { break }
                if let known = old.files[relative], let status = tree.status(of: relative), known.matches(status) {
                    digest = known.digest
                    record.files[relative] = known
                } else {
                    // Changed while it was read: left out of this state, described next time.
                    guard let (hashed, status) = try await onOwnThread({ try tree.digest(of: relative) }) else { continue }
                    digest = hashed
                    size = status.size
                    record.files[relative] = CacheMountSyncRecord.File(status, digest: hashed)
                }
                contents[digest!] = relative
            default:
                continue  // sockets, fifos and devices are not carried
            }
            entries.append(CacheMountIndex.Entry(
                path: relative, kind: kind, mode: metadata.permissions, uid: metadata.uid, gid: metadata.gid,
                mtime: metadata.mtime, size: size, digest: digest, target: metadata.symlinkTarget))
        }
        try record.write(for: path)
        let root = CacheMountIndex.Entry(path: "", kind: .directory, mode: rootMetadata.permissions, uid: rootMetadata.uid,
                                         gid: rootMetadata.gid, mtime: rootMetadata.mtime)
        return CacheMountState(
            index: CacheMountIndex(id: id, created: created, generation: generation, root: root, entries: entries),
            previouslyKnown: Set(old.files.keys), contents: contents)
    }

    /// The digest of the index cache directory `path` last exchanged with `remote`.
    public func lastExchange(_ path: URL, with remote: String) -> Digest? {
        CacheMountSyncRecord.read(for: path).remotes[remote]
    }

    /// Notes that cache directory `path` and `remote` now both hold the index `digest`.
    public func noteExchange(_ path: URL, with remote: String, index digest: Digest) throws {
        var record = CacheMountSyncRecord.read(for: path)
        record.remotes[remote] = digest
        try record.write(for: path)
    }

    /// Brings cache directory `path` up to the state `index` (digest `indexDigest`, from the
    /// registry cache `remote`) describes, writing only what differs. What the directory
    /// changed itself since its last exchange wins over the index; nothing is removed.
    /// Blobs come from other cache directories on this machine when one holds the content
    /// (verified), else from `fetch`, which writes a blob, verified, to the file it is given;
    /// `staging` is an empty directory on the same filesystem for them. Call it while
    /// holding the cache exclusively.
    public func apply(_ index: CacheMountIndex, indexDigest: Digest, from remote: String, to path: URL, staging: URL,
                      fetch: @escaping @Sendable (Descriptor, URL) async throws -> Void) async throws -> CacheMountImport {
        let index = try index.validated()
        let tree = try CacheMountTree(path)
        var record = CacheMountSyncRecord.read(for: path)
        var result = CacheMountImport()
        let wasEmpty = record.files.isEmpty && ((try? FileManager.default.contentsOfDirectory(atPath: path.path)) ?? []).isEmpty

        // What to write: whatever is absent here, and files this directory has not changed
        // since its last exchange whose content the index has otherwise.
        var writes: [CacheMountIndex.Entry] = []
        for entry in index.entries {
            guard let status = tree.status(of: entry.path) else {
                // Absent, or below something that is not a plain directory here (then the write fails and is kept).
                writes.append(entry)
                continue
            }
            let type = status.mode & UInt32(S_IFMT)
            if entry.kind == .file, type == UInt32(S_IFREG), let known = record.files[entry.path], known.matches(status),
               known.digest != entry.digest || (entry.size == 0 && status.size != 0) {
                writes.append(entry)
            } else {
                result.kept += 1
            }
        }

        // Each blob once: from this machine where it can, else downloaded.
        var uses: [Digest: Int] = [:]
        for entry in writes where entry.needsBlob { uses[entry.digest!, default: 0] += 1 }
        let needed = index.blobs.filter { uses[$0.digest] != nil }
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        let local = localCopies(of: Set(needed.map(\.digest)), excluding: path)
        var downloads: [Descriptor] = []
        for blob in needed {
            let target = staging.appendingPathComponent(blob.digest.encoded)
            if let (directory, relative) = local[blob.digest],
               (try? await onOwnThread({ try Self.copyVerified(relative, in: directory, digest: blob.digest, to: target) })) == true {
                result.copiedLocally += 1
            } else {
                downloads.append(blob)
            }
        }
        try await forEachConcurrently(downloads, limit: 8) { blob in
            try await fetch(blob, staging.appendingPathComponent(blob.digest.encoded))
        }
        result.downloaded = downloads.count
        result.downloadedBytes = downloads.reduce(0) { $0 + $1.size }

        // Parents before children (the index is sorted); directory mtimes once their contents are in.
        for entry in writes {
            let content = entry.needsBlob ? staging.appendingPathComponent(entry.digest!.encoded) : nil
            var last = false
            if let digest = entry.digest, entry.needsBlob {
                uses[digest]! -= 1
                last = uses[digest] == 0
            }
            do {
                let move = last
                try await onOwnThread { try tree.write(entry, content: content, move: move) }
                result.written += 1
                if entry.kind == .file, let status = tree.status(of: entry.path) {
                    record.files[entry.path] = entry.digest.map { CacheMountSyncRecord.File(status, digest: $0) }
                }
            } catch {
                result.kept += 1
            }
        }
        // A directory gets the index's mtime when it was written or something was written
        // into it, so that the next export of this directory finds nothing changed.
        var touched: Set<String> = []
        for entry in writes {
            var parent = entry.path
            while let slash = parent.lastIndex(of: "/") {
                parent = String(parent[..<slash])
                touched.insert(parent)
            }
            touched.insert("")
            if entry.kind == .directory { touched.insert(entry.path) }
        }
        for entry in index.entries.reversed() where entry.kind == .directory && touched.contains(entry.path) {
            try? tree.setModificationTime(of: entry)
        }
        if wasEmpty { try tree.setRoot(index.root) }
        if touched.contains("") { try tree.setModificationTime(of: index.root) }
        record.remotes[remote] = indexDigest
        try record.write(for: path)
        return result
    }

    /// For each of `digests`, a cache directory of this store (any scope: the content is
    /// verified before use) and the path in it of a file that had that content.
    private func localCopies(of digests: Set<Digest>, excluding: URL) -> [Digest: (URL, String)] {
        guard !digests.isEmpty else { return [:] }
        var found: [Digest: (URL, String)] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasSuffix(".sync.json") {
            let cache = directory.appendingPathComponent(String(name.dropLast(".sync.json".count)))
            guard cache.path != excluding.path else { continue }
            for (relative, file) in CacheMountSyncRecord.read(for: cache).files
            where digests.contains(file.digest) && found[file.digest] == nil {
                found[file.digest] = (cache, relative)
            }
        }
        return found
    }

    /// Copies `relative` of cache directory `directory` to `target` if its content still has
    /// `digest`; false (and nothing left at `target`) otherwise.
    private static func copyVerified(_ relative: String, in directory: URL, digest: Digest, to target: URL) throws -> Bool {
        let tree = try CacheMountTree(directory)
        guard let (actual, _) = try tree.digest(of: relative), actual == digest else { return false }
        try tree.withParent(of: relative) { parent, name in
            let input = try posix("open", relative) { openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(input) }
            let output = try posix("open", target.path) { open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            defer { close(output) }
            try TreeCopier.copyContent(from: input, to: output, source: relative, destination: target.path)
        }
        // The copy itself is checked too: the file may have changed between the two reads.
        let staged = try CacheMountTree(target.deletingLastPathComponent())
        guard try staged.digest(of: target.lastPathComponent)?.0 == digest else {
            unlink(target.path)
            return false
        }
        return true
    }

    /// Opens the file at `relative` of cache directory `path` (no link followed) for an upload
    /// of its content; the caller closes the descriptor.
    public func openContent(_ relative: String, in path: URL) throws -> Int32 {
        let tree = try CacheMountTree(path)
        return try tree.withParent(of: relative) { parent, name in
            try posix("open", "\(path.path)/\(relative)") { openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        }
    }

    /// Removes the least recently used files of cache directory `path` (by access time, else
    /// modification time) until its files take at most `limit` bytes. Returns what went.
    public func trim(_ path: URL, to limit: Int64) throws -> (files: Int, bytes: Int64) {
        let tree = try CacheMountTree(path)
        var files: [(path: String, size: Int64, used: Int64)] = []
        var total: Int64 = 0
        let walker = FileManager.default.enumerator(atPath: path.path)
        while let relative = walker?.nextObject() as? String {
            var info = stat()
            guard lstat(path.path + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let size = Int64(info.st_blocks) * 512
            total += size
            files.append((relative, size, Int64(max(info.st_atim.tv_sec, info.st_mtim.tv_sec))))
        }
        guard total > limit else { return (0, 0) }
        var removed = (files: 0, bytes: Int64(0))
        for file in files.sorted(by: { $0.used < $1.used }) where total > limit {
            let gone = (try? tree.withParent(of: file.path) { parent, name in unlinkat(parent, name, 0) == 0 }) ?? false
            if gone {
                total -= file.size
                removed.files += 1
                removed.bytes += file.size
            }
        }
        return removed
    }
}
