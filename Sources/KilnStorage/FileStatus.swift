import Glibc

/// What `statx(2)` says about one path. statx rather than stat because it reports the birth
/// time: ext4 hands a deleted directory's inode number straight to the next `mkdir`, so only
/// the birth time tells a replaced directory from the original.
struct FileStatus {
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var linkCount: UInt64
    var inode: UInt64
    var size: Int64
    var mtime: FileTime
    var ctime: FileTime
    var birthTime: FileTime?
    var device: UInt64
    var rdev: UInt64

    private static let basicStats: UInt32 = 0x7ff
    private static let birthTimeMask: UInt32 = 0x800

    /// The status of `path` relative to `directoryFD`, not following a final symlink; the
    /// C error number on failure.
    static func read(directoryFD: Int32, path: String) -> Result<FileStatus, Errno> {
        // struct statx is 256 bytes; the offsets below are its fixed kernel ABI layout.
        withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) { buffer in
            let raw = buffer.baseAddress!
            while LinuxCalls.statx(directoryFD, path, AT_SYMLINK_NOFOLLOW, basicStats | birthTimeMask, raw) != 0 {
                if errno != EINTR { return .failure(Errno(code: errno)) }
            }
            func load<T>(_ offset: Int, as type: T.Type) -> T { raw.load(fromByteOffset: offset, as: type) }
            func time(_ offset: Int) -> FileTime {
                FileTime(seconds: load(offset, as: Int64.self), nanoseconds: Int64(load(offset + 8, as: UInt32.self)))
            }
            let mask = load(0, as: UInt32.self)
            return .success(FileStatus(
                mode: UInt32(load(28, as: UInt16.self)),
                uid: load(20, as: UInt32.self),
                gid: load(24, as: UInt32.self),
                linkCount: UInt64(load(16, as: UInt32.self)),
                inode: load(32, as: UInt64.self),
                size: Int64(bitPattern: load(40, as: UInt64.self)),
                mtime: time(112),
                ctime: time(96),
                birthTime: mask & birthTimeMask != 0 ? time(80) : nil,
                device: deviceNumber(major: load(136, as: UInt32.self), minor: load(140, as: UInt32.self)),
                rdev: deviceNumber(major: load(128, as: UInt32.self), minor: load(132, as: UInt32.self))))
        }
    }

    /// glibc's `makedev` encoding, the one `mknod` expects.
    static func deviceNumber(major: UInt32, minor: UInt32) -> UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }
}

/// A C error number.
struct Errno: Error {
    var code: Int32
}
