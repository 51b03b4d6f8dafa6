import Foundation
import KilnDockerfile
import KilnOCI

#if canImport(Glibc)
import Glibc
#endif

/// Gathers the entries of one copy from its sources, in the order they will be written:
/// wildcard expansion, the ignore file, `--exclude`, `--parents`, Docker's directory rules,
/// hard links within the copy. Files are hashed afterwards (see ``CopyPlanner``).
struct CopyEntryCollector {
    /// A file still to hash: the entry's index, its host path and its stat stamp.
    struct Unhashed: Sendable {
        var index: Int
        var path: String
        var stamp: FileDigestMemo.Stamp
    }

    let root: CopySourceRoot
    let intoDirectory: Bool
    let excludes: BuildContextFilter
    let modeSpec: ModeSpec?
    let request: CopyRequest
    private(set) var entries: [CopyEntry] = []
    private(set) var unhashed: [Unhashed] = []
    /// For a single file copied to a destination without a trailing `/`: the name it takes
    /// when the destination turns out to be an existing directory.
    private(set) var fileName: String?
    private var directoriesAdded: Set<String> = []
    private var firstLinkOf: [String: String] = [:]

    init(root: CopySourceRoot, intoDirectory: Bool, excludes: BuildContextFilter, modeSpec: ModeSpec?, request: CopyRequest) {
        self.root = root
        self.intoDirectory = intoDirectory
        self.excludes = excludes
        self.modeSpec = modeSpec
        self.request = request
    }

    private var rootPath: String {
        switch root {
        case .context(let context): return context.rootPath
        case .directory(let url): return url.standardizedFileURL.path
        }
    }

    private var ignoreFilter: BuildContextFilter? {
        if case .context(let context) = root { return context.filter }
        return nil
    }

    mutating func setDigest(_ digest: Digest, at index: Int) {
        switch entries[index].content {
        case .file(let source, _): entries[index].content = .file(source: source, digest: digest)
        case .archive(let source, _): entries[index].content = .archive(source: source, digest: digest)
        default: break
        }
    }

    // MARK: Sources

    /// Adds a local source (path or wildcard) and returns its kind for the history text
    /// (`file`, `dir`, or `multi` for a wildcard matching several directories).
    mutating func addLocal(_ source: String) throws -> String {
        let matches = try expand(source)
        if matches.count > 1 && !intoDirectory { throw CopyPlanner.multipleSourcesError(request) }
        var kind = "file"
        for match in matches {
            let resolved = try ContainedPath.resolve(match.joined(separator: "/"), in: rootPath, followFinal: true)
            let host = ContainedPath.join(rootPath, resolved)
            var info = stat()
            guard lstat(host, &info) == 0 else {
                guard errno == ENOENT || errno == ENOTDIR else { throw FileOperationError.system("lstat", host, errno) }
                if case .directory = root { throw FileOperationError.notFoundInSource(source) }
                throw FileOperationError.notFound(source)
            }
            let contextPath = resolved.joined(separator: "/")
            if let ignoreFilter, try ignoreFilter.isExcluded(contextPath) {
                // An ignored directory is still there for what an exception pattern keeps below it.
                let isDirectory = info.st_mode & S_IFMT == S_IFDIR
                guard isDirectory && !ignoreFilter.canSkipDirectory(contextPath) else {
                    throw FileOperationError.notFound(source)
                }
            }
            let keptPath = request.parents ? Self.parentsPath(source: source, match: match) : []
            if info.st_mode & S_IFMT == S_IFDIR {
                kind = matches.count == 1 ? "dir" : "multi"
                try addParents(of: keptPath, matchParent: Array(match.dropLast(keptPath.count)), info: info)
                try walk(directory: host, contextPath: resolved, sourcePath: [], target: keptPath)
                continue
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw FileOperationError("cannot copy \(source): not a regular file, directory or symlink")
            }
            let name = match.last ?? ""
            if try excludes.isExcluded(name) { continue }
            if request.isAdd, request.unpack != false,
               TarArchive.filter(ofArchiveAt: host) != nil {
                let target = Array(keptPath.dropLast())
                try addParents(of: target, matchParent: Array(match.dropLast(keptPath.count)), info: nil)
                append(CopyEntry(path: target.joined(separator: "/"), content: .archive(source: host, digest: nil),
                                 mode: 0, modificationTime: info.st_mtim), stamp: Self.stamp(info), hostPath: host)
                continue
            }
            let target: [String]
            if request.parents {
                target = keptPath
                try addParents(of: Array(keptPath.dropLast()), matchParent: Array(match.dropLast(keptPath.count)), info: nil)
            } else if intoDirectory {
                target = [name]
            } else {
                target = []
                fileName = name
            }
            try addFile(host: host, info: info, target: target.joined(separator: "/"))
        }
        return kind
    }

    /// Adds a downloaded URL: a file of mode 0600 (Docker's) named after the URL, or with
    /// `--unpack` the extracted archive.
    mutating func addDownload(_ download: URLDownload, from source: String) throws {
        let mtime = download.lastModified.map { timespec(tv_sec: Int($0.timeIntervalSince1970), tv_nsec: 0) }
            ?? timespec(tv_sec: 0, tv_nsec: 0)
        if request.unpack == true, TarArchive.filter(ofArchiveAt: download.file.path) != nil {
            entries.append(CopyEntry(path: "", content: .archive(source: download.file.path, digest: download.digest),
                                     mode: 0, modificationTime: mtime))
            return
        }
        let name = try URLDownload.fileName(of: source)
        let target: String
        if intoDirectory {
            target = name
        } else {
            target = ""
            fileName = name
        }
        entries.append(CopyEntry(path: target, content: .file(source: download.file.path, digest: download.digest),
                                 mode: modeSpec?.apply(to: 0o600, isDirectory: false) ?? 0o600, modificationTime: mtime))
    }

    /// Adds a heredoc source: a file of mode 0644 inside the destination, dated the epoch so
    /// the same Dockerfile writes the same bytes.
    mutating func addInline(_ file: InlineFile) {
        let name = ContainedPath.components(file.path).joined(separator: "/")
        entries.append(CopyEntry(path: intoDirectory ? name : "", content: .inline(Data(file.content.utf8)),
                                 mode: modeSpec?.apply(to: 0o644, isDirectory: false) ?? 0o644,
                                 modificationTime: timespec(tv_sec: 0, tv_nsec: 0)))
        if !intoDirectory { fileName = name }
    }

    // MARK: Expansion

    /// The source's matches as paths in the root (not yet symlink-resolved), in order.
    private func expand(_ source: String) throws -> [[String]] {
        let segments = ContainedPath.components(source)
        guard SourceGlob.hasWildcards(source) else { return [segments.map(SourceGlob.unescaped)] }
        var prefixes: [[String]] = [[]]
        for segment in segments {
            guard SourceGlob.hasWildcards(segment) else {
                prefixes = prefixes.map { $0 + [SourceGlob.unescaped(segment)] }
                continue
            }
            let glob = SourceGlob(segment)
            var next: [[String]] = []
            for prefix in prefixes {
                let resolved = try ContainedPath.resolve(prefix.joined(separator: "/"), in: rootPath, followFinal: true)
                for name in Self.names(in: ContainedPath.join(rootPath, resolved)) where glob.matches(name) {
                    if let ignoreFilter, try ignoreFilter.isExcluded((resolved + [name]).joined(separator: "/")) { continue }
                    next.append(prefix + [name])
                }
            }
            prefixes = next
        }
        let existing = prefixes.filter { match in
            guard let resolved = try? ContainedPath.resolve(match.joined(separator: "/"), in: rootPath, followFinal: true) else { return false }
            var info = stat()
            return lstat(ContainedPath.join(rootPath, resolved), &info) == 0
        }
        guard !existing.isEmpty else { throw FileOperationError.noMatch(source) }
        return existing
    }

    /// The path `--parents` keeps for `match`: everything below the root, or below the
    /// source's `/./` pivot when it has one (BuildKit's rule).
    static func parentsPath(source: String, match: [String]) -> [String] {
        guard let pivot = source.range(of: "/./") else { return match }
        let kept = ContainedPath.components(String(source[pivot.upperBound...])).count
        return Array(match.suffix(kept))
    }

    // MARK: Walking

    /// Adds the directory entries for `target`'s components (with `--parents`), taking their
    /// modes from the matching source directories. The destination itself is not an entry:
    /// when missing it is made 0755 root, as Docker and Buildah do, whatever the source
    /// directory's mode.
    private mutating func addParents(of target: [String], matchParent: [String], info last: stat?) throws {
        for length in stride(from: 1, through: target.count, by: 1) {
            let path = target.prefix(length).joined(separator: "/")
            guard !directoriesAdded.contains(path) else { continue }
            var info = stat()
            if length == target.count, let last {
                info = last
            } else {
                let resolved = try ContainedPath.resolve((matchParent + target.prefix(length)).joined(separator: "/"),
                                                         in: rootPath, followFinal: true)
                guard stat(ContainedPath.join(rootPath, resolved), &info) == 0 else { continue }
            }
            directoriesAdded.insert(path)
            entries.append(CopyEntry(path: path, content: .directory,
                                     mode: modeSpec?.apply(to: info.st_mode & 0o7777, isDirectory: true) ?? info.st_mode & 0o7777,
                                     modificationTime: info.st_mtim))
        }
    }

    /// Adds everything below the directory at `directory` (host path), sorted by name, minus
    /// what the ignore file and `--exclude` hide; `contextPath` is the directory's path in
    /// the root (for the ignore file), `sourcePath` its path below the source (for
    /// `--exclude`), `target` its path below the destination. Returns whether anything was
    /// added.
    @discardableResult
    private mutating func walk(directory: String, contextPath: [String], sourcePath: [String], target: [String]) throws -> Bool {
        var added = false
        for name in Self.names(in: directory) {
            let host = directory + "/" + name
            let inContext = (contextPath + [name]).joined(separator: "/")
            let inSource = (sourcePath + [name]).joined(separator: "/")
            let targetPath = (target + [name]).joined(separator: "/")
            var info = stat()
            guard lstat(host, &info) == 0 else { throw FileOperationError.system("lstat", host, errno) }
            let type = info.st_mode & S_IFMT
            let ignored = try ignoreFilter?.isExcluded(inContext) ?? false
            let excluded = try excludes.isExcluded(inSource)
            if type == S_IFDIR {
                if (ignored && ignoreFilter!.canSkipDirectory(inContext)) || (excluded && excludes.canSkipDirectory(inSource)) {
                    continue
                }
                let position = entries.count
                entries.append(CopyEntry(path: targetPath, content: .directory,
                                         mode: modeSpec?.apply(to: info.st_mode & 0o7777, isDirectory: true) ?? info.st_mode & 0o7777,
                                         modificationTime: info.st_mtim))
                let below = try walk(directory: host, contextPath: contextPath + [name], sourcePath: sourcePath + [name],
                                     target: target + [name])
                // An excluded directory is kept only for what an exception pattern brings back.
                if (ignored || excluded) && !below {
                    entries.remove(at: position)
                } else {
                    added = true
                }
                continue
            }
            if ignored || excluded { continue }
            switch type {
            case S_IFREG:
                try addFile(host: host, info: info, target: targetPath)
            case S_IFLNK:
                entries.append(CopyEntry(path: targetPath, content: .symlink(try ContainedPath.readLink(host)),
                                         mode: 0o777, modificationTime: info.st_mtim))
            default:
                // Sockets, FIFOs and devices are not copied (BuildKit refuses devices too).
                continue
            }
            added = true
        }
        return added
    }

    private mutating func addFile(host: String, info: stat, target: String) throws {
        if info.st_nlink > 1 {
            let key = "\(info.st_dev):\(info.st_ino)"
            if let first = firstLinkOf[key] {
                let mode = entries.last(where: { $0.path == first })?.mode ?? info.st_mode & 0o7777
                entries.append(CopyEntry(path: target, content: .hardlink(first), mode: mode, modificationTime: info.st_mtim))
                return
            }
            firstLinkOf[key] = target
        }
        append(CopyEntry(path: target, content: .file(source: host, digest: nil),
                         mode: modeSpec?.apply(to: info.st_mode & 0o7777, isDirectory: false) ?? info.st_mode & 0o7777,
                         modificationTime: info.st_mtim),
               stamp: Self.stamp(info), hostPath: host)
    }

    private mutating func append(_ entry: CopyEntry, stamp: FileDigestMemo.Stamp, hostPath: String) {
        unhashed.append(Unhashed(index: entries.count, path: hostPath, stamp: stamp))
        entries.append(entry)
    }

    static func stamp(_ info: stat) -> FileDigestMemo.Stamp {
        FileDigestMemo.Stamp(size: Int64(info.st_size),
                             mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                             ctimeNanoseconds: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
                             inode: UInt64(info.st_ino))
    }

    /// The names in directory `path`, sorted bytewise; empty when it cannot be listed.
    static func names(in path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
