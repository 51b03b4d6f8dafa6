import CArchive
import Foundation
import KilnOCI
#if canImport(Glibc)
import Glibc
#endif

/// Everything a layer must preserve about a tree, for comparing two trees entry by entry.
struct TreeSnapshot: Equatable, CustomStringConvertible {
    struct Entry: Equatable {
        var type: mode_t
        var permissions: mode_t
        var uid: uid_t
        var gid: gid_t
        var mtime: Int
        var content: String?
        var linkTarget: String?
        var rdev: UInt64
        var xattrs: [String: [UInt8]]
        /// The first path (in sorted order) sharing this entry's inode, for hardlink groups.
        var inodeGroup: String
    }

    var entries: [String: Entry]

    var description: String {
        entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n")
    }

    /// Reads the tree under `root` without following symlinks.
    static func capture(_ root: URL) throws -> TreeSnapshot {
        var entries: [String: Entry] = [:]
        var firstOfInode: [UInt64: String] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: root.path).sorted() {
            let full = root.appendingPathComponent(path).path
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            var content: String?
            var linkTarget: String?
            if type == S_IFREG {
                content = Digest.sha256(of: try Data(contentsOf: URL(fileURLWithPath: full))).description
            } else if type == S_IFLNK {
                linkTarget = try FileManager.default.destinationOfSymbolicLink(atPath: full)
            }
            let inode = UInt64(info.st_ino)
            if firstOfInode[inode] == nil { firstOfInode[inode] = path }
            entries[path] = Entry(type: type, permissions: info.st_mode & 0o7777, uid: info.st_uid, gid: info.st_gid,
                                  mtime: info.st_mtim.tv_sec, content: content, linkTarget: linkTarget,
                                  rdev: type == S_IFCHR || type == S_IFBLK ? UInt64(info.st_rdev) : 0,
                                  xattrs: userXattrs(full), inodeGroup: firstOfInode[inode]!)
        }
        return TreeSnapshot(entries: entries)
    }

    private static func userXattrs(_ path: String) -> [String: [UInt8]] {
        var names = [CChar](repeating: 0, count: 4096)
        let size = llistxattr(path, &names, names.count)
        guard size > 0 else { return [:] }
        var result: [String: [UInt8]] = [:]
        for raw in names[..<size].split(separator: 0) {
            let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard name.hasPrefix("user.") else { continue }
            var value = [UInt8](repeating: 0, count: 4096)
            let n = lgetxattr(path, name, &value, value.count)
            if n >= 0 { result[name] = Array(value[..<n]) }
        }
        return result
    }
}
