import Foundation
import KilnOCI

/// The state of one cache mount directory as it travels between machines: every file,
/// directory and symbolic link below its root with mode, owner and mtime, and for a file the
/// digest of its content (the blob that holds it). A format Kiln owns (see ARCHITECTURE.md):
/// JSON, entries sorted by path, so equal states give equal bytes and equal digests.
///
/// An index read from a registry is untrusted input: ``validated()`` refuses any path that
/// could name something outside the directory before anything is written.
public struct CacheMountIndex: Codable, Sendable, Hashable {
    /// The media type of the index blob.
    public static let mediaType: MediaType = "application/vnd.kiln.cache.mount.index.v1+json"

    /// The cache id (`id=`, else the target) the state belongs to.
    public var id: String
    /// When the state was exported (RFC 3339).
    public var created: String
    /// One more than the generation it was built on; 1 for the first export of an id.
    public var generation: Int
    /// The root directory's own mode, owner and mtime.
    public var root: Entry
    /// Every entry below the root, sorted by path.
    public var entries: [Entry]

    /// One entry of the tree.
    public struct Entry: Codable, Sendable, Hashable {
        /// What an entry is; other file types (sockets, fifos, devices) are not carried.
        public enum Kind: String, Codable, Sendable {
            case file, directory, symlink
        }

        /// The `/`-separated path below the root, no leading `/`; empty for the root itself.
        public var path: String
        /// File type.
        public var kind: Kind
        /// Permission bits including setuid, setgid and sticky.
        public var mode: UInt32
        /// Owner.
        public var uid: UInt32
        /// Group.
        public var gid: UInt32
        /// Modification time, seconds since the epoch.
        public var mtime: Int64
        /// Its nanoseconds: tools such as Maven compare recorded timestamps exactly.
        public var mtimeNanoseconds: Int64
        /// A file's size in bytes (0 otherwise).
        public var size: Int64
        /// A non-empty file's content digest (the blob holding it).
        public var digest: Digest?
        /// A symbolic link's target.
        public var target: String?

        /// An entry.
        public init(path: String, kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: FileTime,
                    size: Int64 = 0, digest: Digest? = nil, target: String? = nil) {
            self.path = path
            self.kind = kind
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.mtime = mtime.seconds
            self.mtimeNanoseconds = mtime.nanoseconds
            self.size = size
            self.digest = digest
            self.target = target
        }

        /// ``mtime`` with its nanoseconds.
        public var modificationTime: FileTime { FileTime(seconds: mtime, nanoseconds: mtimeNanoseconds) }

        /// Whether its content is a blob (a non-empty file).
        public var needsBlob: Bool { kind == .file && size > 0 }

        /// The same entry apart from when it was last modified: what decides whether a local
        /// file already is what an index says.
        func sameContent(as other: Entry) -> Bool {
            kind == other.kind && size == other.size && digest == other.digest && target == other.target
        }
    }

    /// An index of `entries` (sorted here).
    public init(id: String, created: String, generation: Int, root: Entry, entries: [Entry]) {
        self.id = id
        self.created = created
        self.generation = generation
        self.root = root
        self.entries = entries.sorted { $0.path < $1.path }
    }

    /// Why an index is refused.
    public struct Invalid: Error, CustomStringConvertible {
        /// What is wrong with it.
        public let description: String
    }

    /// The index itself once every path is a plain relative path (no empty, `.` or `..`
    /// component, no NUL), given once, every file has a digest and every size is sane.
    public func validated() throws -> CacheMountIndex {
        var seen = Set<String>()
        for entry in entries {
            let components = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            guard !entry.path.isEmpty, !entry.path.contains("\0"),
                  components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
            else { throw Invalid(description: "path \(String(reflecting: entry.path)) is not a plain relative path") }
            guard seen.insert(entry.path).inserted else { throw Invalid(description: "path \(entry.path) is listed twice") }
            guard entry.size >= 0, !entry.needsBlob || entry.digest != nil else {
                throw Invalid(description: "file \(entry.path) has no digest")
            }
            guard entry.kind != .symlink || entry.target.map({ !$0.isEmpty && !$0.contains("\0") }) == true else {
                throw Invalid(description: "symbolic link \(entry.path) has no target")
            }
        }
        return self
    }

    /// The bytes of the files.
    public var contentSize: Int64 { entries.reduce(0) { $0 + ($1.kind == .file ? $1.size : 0) } }

    /// The distinct blobs the files need.
    public var blobs: [Descriptor] {
        var seen = Set<Digest>()
        return entries.compactMap { entry in
            guard entry.needsBlob, let digest = entry.digest, seen.insert(digest).inserted else { return nil }
            return Descriptor(mediaType: Self.fileMediaType, digest: digest, size: entry.size)
        }
    }

    /// The media type of a file blob: the file's bytes as they are.
    public static let fileMediaType: MediaType = "application/vnd.kiln.cache.mount.file.v1"

    /// At most `limit` bytes of files: the most recently modified kept, the rest left out
    /// (with directories and links all kept), so an import or export stays within a size cap.
    public func capped(at limit: Int64?) -> CacheMountIndex {
        guard let limit, contentSize > limit else { return self }
        var budget = limit
        var kept = Set<String>()
        for entry in entries.filter({ $0.kind == .file }).sorted(by: { $0.modificationTime > $1.modificationTime })
        where entry.size <= budget {
            budget -= entry.size
            kept.insert(entry.path)
        }
        var copy = self
        copy.entries = entries.filter { $0.kind != .file || kept.contains($0.path) }
        return copy
    }

    /// Canonical JSON bytes (sorted keys), so one state has one digest.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// An index from its JSON bytes.
    public static func decode(_ data: Data) throws -> CacheMountIndex {
        try JSONDecoder().decode(CacheMountIndex.self, from: data)
    }
}
