import KilnArchive
import Glibc

/// A point in time with nanosecond precision, as `stat(2)` reports it.
public struct FileTime: Sendable, Hashable, Comparable {
    /// Seconds since the epoch.
    public var seconds: Int64
    /// Nanoseconds within the second.
    public var nanoseconds: Int64

    /// A time from its parts.
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    init(_ spec: timespec) { self.init(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec)) }

    public static func < (lhs: FileTime, rhs: FileTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

/// What one directory entry was when a snapshot recorded it.
public struct FileMetadata: Sendable, Hashable {
    /// The entry's file type.
    public enum Kind: Sendable, Hashable {
        /// A regular file.
        case regular
        /// A directory.
        case directory
        /// A symbolic link.
        case symlink
        /// A named pipe.
        case fifo
        /// A character device (an overlay whiteout is one with device number 0/0).
        case characterDevice
        /// A block device.
        case blockDevice
        /// A Unix domain socket.
        case socket
    }

    /// File type.
    public var kind: Kind
    /// Permission bits including setuid, setgid and sticky (`st_mode & 07777`).
    public var permissions: UInt32
    /// Owner.
    public var uid: UInt32
    /// Group.
    public var gid: UInt32
    /// Size in bytes (`st_size`).
    public var size: Int64
    /// Last content modification.
    public var mtime: FileTime
    /// Last inode change: moves with every write, chmod, chown, link and xattr change, and
    /// cannot be set from user space, so it catches rewrites that restore size and mtime.
    public var ctime: FileTime
    /// Creation time, where the filesystem records one: with `inode`, tells a directory that
    /// was removed and made again from the original even when the inode number was reused.
    public var birthTime: FileTime?
    /// The filesystem the entry is on (`st_dev`).
    public var device: UInt64
    /// Inode number: with `device`, identifies hardlink groups and replaced entries.
    public var inode: UInt64
    /// Number of hardlinks.
    public var linkCount: UInt64
    /// Device number of a character or block device (`st_rdev`); 0 otherwise.
    public var rdev: UInt64
    /// Target of a symlink; nil for other kinds.
    public var symlinkTarget: String?
    /// The extended attributes a layer records, by name (``KilnArchive/Xattrs/role(of:)``
    /// decides which): what a snapshot compares and a copy keeps.
    public var xattrs: [String: [UInt8]]
    /// overlayfs's own markers on the entry, by full name: only an upper directory has them,
    /// and only the overlay diff reads them.
    public var overlayMarkers: [String: [UInt8]] = [:]
    /// The host's attributes on the entry (ACLs, SELinux label): never compared or copied, only
    /// read so that a directory kept as a snapshot can be rid of them.
    public var hostXattrs: [String: [UInt8]] = [:]

    /// Whether content or metadata may differ between two records of the same path. A moved
    /// ctime counts only when the link count stayed the same.
    ///
    /// Directories compare only what a layer stores for them (mode, owner, mtime, xattrs): their
    /// ctime moves whenever a child changes, which the child's own entry already covers.
    /// Whether `other` is a different file system object at the same path.
    func isReplacement(of other: FileMetadata) -> Bool {
        inode != other.inode || device != other.device
            || (birthTime != nil && other.birthTime != nil && birthTime != other.birthTime)
    }

    func differs(from other: FileMetadata) -> Bool {
        if kind != other.kind || permissions != other.permissions || uid != other.uid || gid != other.gid
            || mtime != other.mtime || xattrs != other.xattrs {
            return true
        }
        if kind == .directory { return false }
        // A link made or removed elsewhere moves the ctime of every member of the group: not a
        // change of this entry (overlayfs does not copy it up either; a link made is written
        // with its group by the hardlink rule of the diff).
        let ctimeMoved = ctime != other.ctime && linkCount == other.linkCount
        return size != other.size || ctimeMoved || inode != other.inode || device != other.device
            || rdev != other.rdev || symlinkTarget != other.symlinkTarget
    }
}

extension FileMetadata {
    /// The metadata `status` describes, with the parts statx does not report; nil for a file
    /// type a layer cannot hold.
    init?(_ status: FileStatus, symlinkTarget: String?, xattrs: EntryXattrs) {
        guard let kind = Kind(mode: mode_t(status.mode)) else { return nil }
        self.init(
            kind: kind, permissions: status.mode & 0o7777, uid: status.uid, gid: status.gid,
            size: status.size, mtime: status.mtime, ctime: status.ctime, birthTime: status.birthTime,
            device: status.device, inode: status.inode, linkCount: status.linkCount,
            rdev: (kind == .characterDevice || kind == .blockDevice) ? status.rdev : 0,
            symlinkTarget: kind == .symlink ? symlinkTarget : nil, xattrs: xattrs.recorded,
            overlayMarkers: xattrs.overlayMarkers, hostXattrs: xattrs.host)
    }
}

extension FileMetadata.Kind {
    init?(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symlink
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        default: return nil
        }
    }

    /// The `S_IF*` bits for `mknod`.
    var modeBits: mode_t {
        switch self {
        case .regular: return S_IFREG
        case .directory: return S_IFDIR
        case .symlink: return S_IFLNK
        case .fifo: return S_IFIFO
        case .characterDevice: return S_IFCHR
        case .blockDevice: return S_IFBLK
        case .socket: return S_IFSOCK
        }
    }
}

extension FileMetadata {
    /// The attributes as read, for a record that reuses them.
    var entryXattrs: EntryXattrs {
        var read = EntryXattrs()
        read.recorded = xattrs
        read.overlayMarkers = overlayMarkers
        read.host = hostXattrs
        return read
    }
}
