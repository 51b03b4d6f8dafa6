import Foundation
import KilnOCI

/// One filesystem entry a planned copy writes, at a path relative to the copy's destination
/// directory (`""` is the destination itself).
struct CopyEntry: Sendable {
    /// What the entry is and where its bytes come from.
    enum Content: Sendable {
        /// A directory (its children are separate entries).
        case directory
        /// A regular file copied from the host path `source`; `digest` is filled in once the
        /// planner has hashed it.
        case file(source: String, digest: Digest?)
        /// A regular file whose bytes are given (a heredoc).
        case inline(Data)
        /// A symlink with this target, copied as it is.
        case symlink(String)
        /// A hard link to the entry written earlier at this relative path (same copy).
        case hardlink(String)
        /// A tar archive (any compression) extracted into the directory at ``CopyEntry/path``.
        case archive(source: String, digest: Digest?)
    }

    /// Path below the destination, `/`-separated, clean, never `..`.
    var path: String
    var content: Content
    /// Permission bits, setuid/setgid/sticky included, exactly as written (after `--chmod`).
    var mode: UInt32
    /// The modification time written; Docker keeps the source's.
    var modificationTime: timespec

    /// The entry's line in the content digest's canonical text: kind, mode, path and what
    /// defines its bytes; never the mtime or anything of the host (see ``CopyPlan``).
    var canonicalLine: String {
        let mode = String(mode, radix: 8)
        let path = Self.field(self.path)
        switch content {
        case .directory: return "dir \(mode) \(path)"
        case .file(_, let digest): return "file \(mode) \(path) \(digest?.description ?? "-")"
        case .inline(let data): return "file \(mode) \(path) \(Digest.sha256(of: data))"
        case .symlink(let target): return "symlink \(mode) \(path) \(Self.field(target))"
        case .hardlink(let first): return "hardlink \(mode) \(path) \(Self.field(first))"
        case .archive(_, let digest): return "archive \(mode) \(path) \(digest?.description ?? "-")"
        }
    }

    /// A length-prefixed field, so no path (spaces, newlines) can forge another line.
    static func field(_ text: String) -> String {
        "\(text.utf8.count):\(text)"
    }
}
