import CArchive
import Glibc
import KilnOCI

/// What lets a re-export into an OCI layout skip reading a blob it already holds: when Kiln
/// writes a blob into a layout (or finds one there that hashes to its name) it seals the file
/// with an extended attribute naming the digest, size, mtime and inode it had. A later export
/// that finds the seal still matching the file keeps it unread; an edit (new bytes move the
/// mtime, a replaced file has another inode) breaks the seal, and the blob is hashed, and
/// rewritten when it no longer matches, as before. A filesystem without user attributes keeps
/// no seal, so every blob there is hashed.
///
/// The seal is about the user's own output, never the content store: a layout holds copies, so
/// nothing done to it reaches the store or another output.
enum LayoutBlobSeal {
    private static let attribute = "user.kiln.blob"

    /// The seal `path` would carry now for `digest`; nil when it cannot be read.
    private static func value(_ path: String, digest: Digest) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return "\(digest) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_dev):\(info.st_ino)"
    }

    /// Whether `path` carries a seal for `digest` that still matches the file (size included).
    static func holds(_ path: String, digest: Digest, size: Int64) -> Bool {
        guard let expected = value(path, digest: digest), expected.hasPrefix("\(digest) \(size) ") else { return false }
        var buffer = [UInt8](repeating: 0, count: 512)
        let length = lgetxattr(path, attribute, &buffer, buffer.count)
        guard length > 0 else { return false }
        return String(decoding: buffer[..<length], as: UTF8.self) == expected
    }

    /// Seals `path` as holding `digest` (best effort).
    static func seal(_ path: String, digest: Digest) {
        guard let text = value(path, digest: digest) else { return }
        _ = text.utf8CString.withUnsafeBytes { lsetxattr(path, attribute, $0.baseAddress, $0.count - 1, 0) }
    }
}
