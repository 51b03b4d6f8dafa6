import Foundation
import KilnImage
#if canImport(Glibc)
import Glibc
#endif

/// What a tree holds, entry by entry: type, permission bits, size, link target and content
/// digest, keyed by relative path. Two trees match when their snapshots are equal.
struct TreeSnapshot: Equatable, CustomStringConvertible {
    let entries: [String: String]

    init(_ root: URL) throws {
        var entries: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: root.path)
        while let relative = walker?.nextObject() as? String {
            let path = root.appendingPathComponent(relative).path
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let mode = String(info.st_mode & 0o7777, radix: 8)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries[relative] = "dir \(mode)"
            case S_IFLNK:
                entries[relative] = "link -> \(try FileManager.default.destinationOfSymbolicLink(atPath: path))"
            case S_IFREG:
                let digest = try FileRegion(wholeFile: URL(fileURLWithPath: path)).open().measure().digest
                entries[relative] = "file \(mode) \(info.st_size) \(digest)"
            default:
                entries[relative] = "other \(info.st_mode)"
            }
        }
        self.entries = entries
    }

    var description: String {
        entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n")
    }
}
