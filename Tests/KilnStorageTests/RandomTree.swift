import Foundation
import KilnTestSupport
import Glibc
@testable import KilnStorage

/// Builds and mutates random directory trees from a seed: files, directories, symlinks,
/// hardlinks, fifos, devices, odd modes, owners, nanosecond mtimes and xattrs; then deletions,
/// rewrites that keep size and mtime, type changes and directory replacements.
struct RandomTree {
    var rng: SeededGenerator
    let root: String

    init(seed: UInt64, root: URL) {
        rng = SeededGenerator(seed: seed)
        self.root = root.path
    }

    // Names that collide and sort awkwardly in byte order ("a" < "a-b" < "a.b" < "a/…").
    private static let names = ["a", "b", "a-b", "a.b", "c", "d0", "e", "f f", "g_", "h"]

    private mutating func name() -> String { Self.names.randomElement(using: &rng)! }
    private mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    /// Fills `relative` (a directory that exists) with a random subtree.
    mutating func populate(_ relative: String = "", depth: Int = 0) throws {
        for _ in 0..<Int.random(in: (depth == 0 ? 6 : 2)...(depth == 0 ? 10 : 6), using: &rng) {
            let path = join(relative, name())
            if exists(path) { continue }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<45: try makeFile(path)
            case 45..<72 where depth < 4:
                try check(mkdir(abs(path), 0o755))
                try populate(path, depth: depth + 1)
                try randomMetadata(path, directory: true)
            case 70..<80: try makeSymlink(path)
            case 80..<88: try makeHardlink(path)
            case 88..<94: try check(mkfifo(abs(path), 0o644)); try randomMetadata(path)
            case 94..<100: try check(mknod(abs(path), S_IFCHR | 0o600, dev_t(1 << 8 | 3))); try randomMetadata(path)
            default: try makeFile(path)
            }
        }
    }

    /// Applies `count` random changes.
    mutating func mutate(count: Int) throws {
        for _ in 0..<count {
            let all = allPaths()
            guard let path = all.randomElement(using: &rng) else { try populate(); continue }
            let current = try metadata(path)
            let kind = current.kind
            switch Int.random(in: 0..<15, using: &rng) {
            case 0: try populate(kind == .directory ? path : parent(path), depth: 2)
            case 1: try remove(path)
            case 2 where kind == .regular: try appendContent(path)
            case 3 where kind == .regular: try rewriteKeepingSizeAndMtime(path)
            case 4: if kind != .symlink { try check(chmod(abs(path), randomMode(directory: kind == .directory))) }
            case 5: try check(lchown(abs(path), randomID(), randomID()))
            case 6: try setMtime(path)
            case 7: try setXattr(path)
            case 8: try removeXattrs(path)
            case 9:  // type change
                try remove(path)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: try makeFile(path)
                case 1: try makeSymlink(path)
                default: try check(mkdir(abs(path), 0o755)); try populate(path, depth: 2)
                }
            case 10 where kind == .directory:  // replaced by a new directory
                try remove(path)
                try check(mkdir(abs(path), 0o755))
                try populate(path, depth: 2)
                try randomMetadata(path, directory: true)
            case 11: try makeHardlink(join(kind == .directory ? path : parent(path), name()))
            case 12 where kind == .regular && current.linkCount > 1: try appendContent(path)
            case 13 where kind == .symlink:
                try remove(path)
                try makeSymlink(path)
            case 14 where kind == .directory && path.contains("/"):
                // Emptied wholesale but kept (same inode).
                for child in try FileManager.default.contentsOfDirectory(atPath: abs(path)) {
                    try remove(join(path, child))
                }
            default: try setMtime(path)
            }
        }
    }

    // MARK: - Building blocks

    private func abs(_ relative: String) -> String { relative.isEmpty ? root : "\(root)/\(relative)" }
    private func join(_ directory: String, _ name: String) -> String { directory.isEmpty ? name : "\(directory)/\(name)" }
    private func parent(_ path: String) -> String { parentPath(path) ?? "" }
    private func exists(_ path: String) -> Bool { var st = stat(); return lstat(abs(path), &st) == 0 }
    private func metadata(_ path: String) throws -> FileMetadata { try TreeWalker.readMetadata(absolutePath: abs(path))! }

    private func allPaths() -> [String] {
        var paths: [String] = []
        var stack = [""]
        while let directory = stack.popLast() {
            for child in ((try? FileManager.default.contentsOfDirectory(atPath: abs(directory))) ?? []).sorted() {
                let path = join(directory, child)
                paths.append(path)
                var st = stat()
                if lstat(abs(path), &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { stack.append(path) }
            }
        }
        return paths
    }

    private func check(_ result: Int32, _ line: Int = #line) throws {
        if result != 0 { throw StorageError.system(operation: "random tree step at line \(line)", path: root, errno: errno) }
    }

    private func remove(_ path: String) throws { try FileManager.default.removeItem(atPath: abs(path)) }

    private mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    private mutating func makeFile(_ path: String) throws {
        let size = chance(20) ? 0 : Int.random(in: 1...3000, using: &rng)
        guard FileManager.default.createFile(atPath: abs(path), contents: Data(bytes(size))) else {
            throw StorageError.system(operation: "create", path: abs(path), errno: errno)
        }
        try randomMetadata(path)
    }

    private mutating func makeSymlink(_ path: String) throws {
        let target = ["../a", "b", "/etc/passwd", "a-b/c", "missing", "."].randomElement(using: &rng)!
        try check(symlink(target, abs(path)))
        try check(lchown(abs(path), randomID(), randomID()))
        try setMtime(path)
    }

    /// A new name for an existing regular file elsewhere in the tree (or a new file).
    private mutating func makeHardlink(_ path: String) throws {
        if exists(path) { return }
        let files = allPaths().filter { (try? metadata($0).kind) == .regular }
        guard let target = files.randomElement(using: &rng) else { return try makeFile(path) }
        try check(link(abs(target), abs(path)))
    }

    private mutating func appendContent(_ path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: abs(path)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes(Int.random(in: 1...100, using: &rng))))
        try handle.close()
    }

    private mutating func rewriteKeepingSizeAndMtime(_ path: String) throws {
        let before = try metadata(path)
        guard before.size > 0 else { return try appendContent(path) }
        var content = try Data(contentsOf: URL(fileURLWithPath: abs(path)))
        content[0] = content[0] &+ 1
        let fd = open(abs(path), O_WRONLY | O_TRUNC)
        _ = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try restoreMtime(path, before.mtime)
    }

    private mutating func randomMode(directory: Bool) -> mode_t {
        directory ? [0o755, 0o700, 0o1777, 0o2755, 0o555].randomElement(using: &rng)!
            : [0o644, 0o600, 0o755, 0o4755, 0o444, 0o640, 0o2711].randomElement(using: &rng)!
    }

    private mutating func randomID() -> UInt32 { [0, 1, 1000, 65534].randomElement(using: &rng)! }

    private mutating func randomMetadata(_ path: String, directory: Bool = false) throws {
        try check(lchown(abs(path), randomID(), randomID()))
        try check(chmod(abs(path), randomMode(directory: directory)))
        if chance(25) { try setXattr(path) }
        try setMtime(path)
    }

    private mutating func setXattr(_ path: String) throws {
        // user.* xattrs are not allowed on symlinks and special files.
        guard [.regular, .directory].contains(try metadata(path).kind) else { return }
        let value = bytes(Int.random(in: 0...40, using: &rng))
        let name = "user.\(["k", "kiln.test", "z"].randomElement(using: &rng)!)"
        let result = value.withUnsafeBytes { LinuxCalls.lsetxattr(abs(path), name, $0.baseAddress, $0.count, 0) }
        try check(result)
    }

    private func removeXattrs(_ path: String) throws {
        for name in try TreeWalker.readXattrs(abs(path)).recorded.keys {
            try check(LinuxCalls.lremovexattr(abs(path), name))
        }
    }

    private mutating func setMtime(_ path: String) throws {
        try restoreMtime(path, FileTime(seconds: Int64.random(in: 0...1_800_000_000, using: &rng),
                                        nanoseconds: Int64.random(in: 0..<1_000_000_000, using: &rng)))
    }

    private func restoreMtime(_ path: String, _ time: FileTime) throws {
        var times = [timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit),
                     timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))]
        try check(utimensat(AT_FDCWD, abs(path), &times, AT_SYMLINK_NOFOLLOW))
    }
}
