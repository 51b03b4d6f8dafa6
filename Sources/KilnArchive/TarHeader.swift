/// What one tar entry says about a file, independent of libarchive: the writer builds these
/// from the source tree, and tests can reason about them without C pointers.
struct TarHeader: Sendable, Hashable {
    /// The kind of entry.
    enum Kind: Sendable, Hashable {
        case regular(size: Int64)
        case directory
        case symlink(target: String)
        case hardlink(target: String)
        case fifo
        /// `device` is the kernel's encoded `dev_t` (major and minor together).
        case characterDevice(device: UInt64)
        case blockDevice(device: UInt64)
    }

    /// Archive path, relative, without a trailing `/` (the writer adds it for directories).
    var path: String
    var kind: Kind
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    var permissions: UInt32
    var uid: UInt32
    var gid: UInt32
    /// Seconds since the epoch; sub-second parts are dropped so the PAX headers they would
    /// need stay out of ordinary layers.
    var modificationTime: Int64
    /// Extended attributes, sorted by name so output is deterministic.
    var xattrs: [Xattr] = []

    /// One extended attribute.
    struct Xattr: Sendable, Hashable {
        var name: String
        var value: [UInt8]
    }

    /// An empty regular file used as an OCI whiteout marker.
    static func whiteout(path: String, modificationTime: Int64) -> TarHeader {
        TarHeader(path: path, kind: .regular(size: 0), permissions: 0o644, uid: 0, gid: 0,
                  modificationTime: modificationTime)
    }
}
