import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// What an extended attribute is to Kiln. ``Xattrs/role(of:)`` is the one rule every reader and
/// writer of attributes follows: layer writing, layer application, snapshots (copy-mode diffs,
/// the overlay diff) and tree copies.
public enum XattrRole: Sendable, Hashable {
    /// Travels in layers, so a snapshot compares it and a copy keeps it (`user.*`,
    /// `security.capability`, `trusted.*` other than overlay's).
    case recorded
    /// One of overlayfs's own markers (`trusted.overlay.*` as root mounts it, `user.overlay.*`
    /// under `userxattr`): read from an upper directory to find opaque directories, redirects
    /// and metacopies, never recorded. In a layer it would make an unpacked lower mean something
    /// else to overlayfs than to a copy.
    case overlayMarker
    /// Belongs to the host: `system.*` (ACLs, which the kernel encodes itself) and
    /// `security.selinux` (a host label, meaningless in an image). Not recorded, compared or
    /// copied.
    case host
}

/// The attributes of one entry, split by ``XattrRole``.
public struct EntryXattrs: Sendable, Hashable {
    /// The attributes layers record, by name.
    public var recorded: [String: [UInt8]] = [:]
    /// overlayfs's markers, by their full name.
    public var overlayMarkers: [String: [UInt8]] = [:]
    /// The host's attributes, by name: read so that what must not outlive a step (a snapshot
    /// kept from an upper directory) can be removed.
    public var host: [String: [UInt8]] = [:]

    /// No attributes.
    public init() {}

    /// `recorded` as tar header records, sorted by name (the order a layer writes them in).
    var sortedRecords: [TarHeader.Xattr] {
        recorded.map { TarHeader.Xattr(name: $0.key, value: $0.value) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}

/// A failed `llistxattr`/`lgetxattr`: each caller reports it in its own error type, naming the
/// path it knows the entry by.
public struct XattrReadError: Error, Sendable, Hashable {
    /// The call and the attribute, e.g. `lgetxattr user.x`.
    public var operation: String
    /// The C error number.
    public var errno: Int32
}

/// Reading and setting extended attributes without following a final symlink, by path or by an
/// entry named relative to an open directory. Linux has no `*xattrat` calls before 6.13, so such
/// an entry is reached through `/proc/self/fd/<dir>/<name>` with the `l*` variants: the directory
/// is pinned by descriptor and only the last component, never followed, is looked up by name.
public enum Xattrs {
    /// The one rule of which attributes count: see ``XattrRole``.
    public static func role(of name: String) -> XattrRole {
        if name.hasPrefix("trusted.overlay.") || name.hasPrefix("user.overlay.") { return .overlayMarker }
        if name.hasPrefix("system.") || name == "security.selinux" { return .host }
        return .recorded
    }

    /// The path that reaches `name` inside the directory open as `directoryFD`.
    static func procPath(_ directoryFD: Int32, _ name: String) -> String {
        "/proc/self/fd/\(directoryFD)/\(name)"
    }

    /// The attributes of `path` (a final symlink not followed), split by role. A filesystem
    /// without xattrs, or an entry removed meanwhile, has none. Most entries have none, so the
    /// common case costs one `llistxattr` into a small buffer.
    public static func read(path: String) throws(XattrReadError) -> EntryXattrs {
        var result = EntryXattrs()
        for name in try names(path) {
            guard let value = try value(path, name) else { continue }
            switch role(of: name) {
            case .recorded: result.recorded[name] = value
            case .overlayMarker: result.overlayMarkers[name] = value
            case .host: result.host[name] = value
            }
        }
        return result
    }

    /// The recorded attributes of `name` inside the directory open as `directoryFD`, sorted by
    /// name, for a layer entry.
    static func recorded(_ directoryFD: Int32, _ name: String, displayPath: String) throws -> [TarHeader.Xattr] {
        do {
            return try read(path: procPath(directoryFD, name)).sortedRecords
        } catch {
            throw ArchiveError.system(operation: error.operation, path: displayPath, errno: error.errno)
        }
    }

    private static func names(_ path: String) throws(XattrReadError) -> [String] {
        var buffer = [CChar](repeating: 0, count: 1024)
        var length = llistxattr(path, &buffer, buffer.count)
        while length < 0 {
            switch errno {
            case ENOTSUP, EOPNOTSUPP, ENOENT: return []
            case ERANGE:
                // Longer than the first guess: ask for the size, then read again (the list may
                // have grown in between, so loop).
                let needed = llistxattr(path, nil, 0)
                guard needed >= 0 else { continue }
                buffer = [CChar](repeating: 0, count: needed + 1)
                length = llistxattr(path, &buffer, buffer.count)
            default:
                throw XattrReadError(operation: "llistxattr", errno: errno)
            }
        }
        return buffer[..<length].split(separator: 0).map {
            String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The value of `name`; nil when it was removed since it was listed.
    private static func value(_ path: String, _ name: String) throws(XattrReadError) -> [UInt8]? {
        while true {
            let size = lgetxattr(path, name, nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw XattrReadError(operation: "lgetxattr \(name)", errno: errno)
            }
            var value = [UInt8](repeating: 0, count: size)
            let read = lgetxattr(path, name, &value, value.count)
            if read >= 0 { return Array(value[..<read]) }
            // The value grew between the two calls: ask again.
            if errno != ERANGE { throw XattrReadError(operation: "lgetxattr \(name)", errno: errno) }
        }
    }

    /// Sets `xattr` on `name` when it is a recorded attribute (a layer from elsewhere may carry
    /// others). A filesystem without xattr support, or an unprivileged caller setting a
    /// `trusted.*`/`security.*` name, skips it: the layer stays usable, as with other
    /// unprivileged unpackers.
    static func set(_ xattr: TarHeader.Xattr, on directoryFD: Int32, _ name: String,
                    privileged: Bool, displayPath: String) throws {
        guard role(of: xattr.name) == .recorded else { return }
        let status = xattr.value.withUnsafeBytes {
            lsetxattr(procPath(directoryFD, name), xattr.name, $0.baseAddress, $0.count, 0)
        }
        guard status != 0 else { return }
        if errno == ENOTSUP || errno == EOPNOTSUPP { return }
        if errno == EPERM && !privileged { return }
        throw ArchiveError.lastSystemError("lsetxattr \(xattr.name)", displayPath)
    }
}
