import CArchive
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A source tree with every entry type a layer carries.
enum SampleTree {
    /// The mtime every sample entry gets.
    static let mtime: Int64 = 1_600_000_000
    /// A file name longer than ustar's 100-byte name field.
    static let longName = "long/" + String(repeating: "n", count: 120) + ".txt"
    /// A symlink target longer than ustar's 100-byte link field.
    static let longTarget = "../" + String(repeating: "t", count: 150)

    /// Builds the tree under `root`.
    static func make(at root: URL, withDevice: Bool = geteuid() == 0) throws {
        let fm = FileManager.default
        func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
            let url = root.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            chmod(url.path, mode_t(mode))
        }
        try write("a/file.txt", "hello layer\n")
        try write("a/setuid", "#!/bin/sh\n", mode: 0o4755)
        try write("a/sticky-dir/inner", "x")
        chmod(root.appendingPathComponent("a/sticky-dir").path, 0o1777)
        try write(longName, "long\n")
        try write("unicodé/ファイル.txt", "utf-8 names\n")
        try write("big.bin", String(repeating: "0123456789abcdef", count: 70_000))
        try fm.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        link(root.appendingPathComponent("a/file.txt").path, root.appendingPathComponent("a/hard").path)
        symlink("file.txt", root.appendingPathComponent("a/link").path)
        symlink(longTarget, root.appendingPathComponent("a/longlink").path)
        mkfifo(root.appendingPathComponent("fifo").path, 0o600)
        let value = Array("bar".utf8)
        setxattr(root.appendingPathComponent("a/file.txt").path, "user.foo", value, value.count, 0)
        if withDevice {
            mknod(root.appendingPathComponent("null-device").path, S_IFCHR | 0o666, makedev(1, 3))
        }
        try setTimes(root, to: mtime)
    }

    /// Sets every entry's mtime (children before parents so directories keep theirs).
    static func setTimes(_ root: URL, to seconds: Int64) throws {
        let paths = try FileManager.default.subpathsOfDirectory(atPath: root.path).sorted().reversed()
        let time = timespec(tv_sec: time_t(seconds), tv_nsec: 0)
        for path in paths {
            _ = utimensat(AT_FDCWD, root.appendingPathComponent(path).path, [time, time], AT_SYMLINK_NOFOLLOW)
        }
    }

    private static func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
        dev_t((major & 0xfff) << 8) | dev_t(minor & 0xff) | (dev_t(minor & ~0xff) << 12)
    }
}
