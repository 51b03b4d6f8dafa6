import Foundation
import Glibc
import KilnArchive
@testable import KilnStorage

/// Applies a change list straight from a source tree onto a target tree, the way a layer
/// writer + applier would: it checks the diff on its own, without tar in between.
enum ChangeListApplier {
    static func apply(_ changes: [LayerChange], from source: URL, onto target: URL) throws {
        var directories: [(String, FileMetadata)] = []
        var firstLink: [HardlinkKey: String] = [:]
        for change in changes {
            let to = target.path + "/" + change.path
            switch change {
            case .delete:
                try removeIfPresent(to)
            case .opaque:
                for child in try FileManager.default.contentsOfDirectory(atPath: to) { try removeIfPresent(to + "/" + child) }
            case .write(let path):
                let metadata = try TreeWalker.readMetadata(absolutePath: source.path + "/" + path)!
                let existing = try TreeWalker.readMetadata(absolutePath: to)
                if let existing, !(existing.kind == .directory && metadata.kind == .directory) { try removeIfPresent(to) }
                switch metadata.kind {
                case .directory:
                    if existing?.kind != .directory { try posix("mkdir", to) { mkdir(to, 0o700) } }
                    directories.append((to, metadata))
                    continue
                case .regular:
                    let key = HardlinkKey(metadata)
                    if metadata.linkCount > 1, let first = firstLink[key] {
                        try posix("link", to) { link(first, to) }
                        continue
                    }
                    firstLink[key] = to
                    try TreeCopier.copyContent(from: source.path + "/" + path, to: to)
                case .symlink:
                    try posix("symlink", to) { symlink(metadata.symlinkTarget!, to) }
                default:
                    try posix("mknod", to) { mknod(to, metadata.kind.modeBits | 0o600, dev_t(metadata.rdev)) }
                }
                // A rewritten file keeps no xattrs from the copy it replaced: start clean.
                try TreeCopier.applyMetadata(metadata, to: to)
            }
        }
        for (path, metadata) in directories.reversed() {
            for name in try TreeWalker.readXattrs(path).recorded.keys where metadata.xattrs[name] == nil {
                _ = LinuxCalls.lremovexattr(path, name)
            }
            try TreeCopier.applyMetadata(metadata, to: path)
        }
    }

    private static func removeIfPresent(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) == 0 { try FileManager.default.removeItem(atPath: path) }
    }
}
