import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// Extended attributes of an entry named relative to an open directory, without following a
/// final symlink. Linux has no `*xattrat` calls before 6.13, so the entry is reached through
/// `/proc/self/fd/<dir>/<name>` with the `l*` variants: the directory is pinned by descriptor
/// and only the last component, never followed, is looked up by name.
public enum Xattrs {
    /// The path that reaches `name` inside the directory open as `directoryFD`.
    static func procPath(_ directoryFD: Int32, _ name: String) -> String {
        "/proc/self/fd/\(directoryFD)/\(name)"
    }

    /// Whether an attribute travels in layers. `system.*` (ACLs, handled by the kernel's own
    /// encoding) and `security.selinux` (a host label, meaningless in an image) stay behind.
    public static func isCarried(_ name: String) -> Bool {
        !name.hasPrefix("system.") && name != "security.selinux"
    }

    /// The carried attributes of `name`, sorted by name.
    static func list(_ directoryFD: Int32, _ name: String, displayPath: String) throws -> [TarHeader.Xattr] {
        let path = procPath(directoryFD, name)
        var size = llistxattr(path, nil, 0)
        if size < 0 {
            if errno == ENOTSUP || errno == EOPNOTSUPP { return [] }
            throw ArchiveError.lastSystemError("llistxattr", displayPath)
        }
        if size == 0 { return [] }
        var names = [CChar](repeating: 0, count: size)
        size = llistxattr(path, &names, names.count)
        if size < 0 { throw ArchiveError.lastSystemError("llistxattr", displayPath) }
        var result: [TarHeader.Xattr] = []
        for raw in names[..<size].split(separator: 0) {
            let attribute = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard isCarried(attribute) else { continue }
            let length = lgetxattr(path, attribute, nil, 0)
            if length < 0 {
                if errno == ENODATA { continue }
                throw ArchiveError.lastSystemError("lgetxattr \(attribute)", displayPath)
            }
            var value = [UInt8](repeating: 0, count: length)
            let read = lgetxattr(path, attribute, &value, value.count)
            if read < 0 { throw ArchiveError.lastSystemError("lgetxattr \(attribute)", displayPath) }
            result.append(.init(name: attribute, value: Array(value[..<read])))
        }
        return result.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// Sets `xattr` on `name`. A filesystem without xattr support, or an unprivileged caller
    /// setting a `trusted.*`/`security.*` name, skips it: the layer stays usable, as with
    /// other unprivileged unpackers.
    static func set(_ xattr: TarHeader.Xattr, on directoryFD: Int32, _ name: String,
                    privileged: Bool, displayPath: String) throws {
        guard isCarried(xattr.name) else { return }
        let status = xattr.value.withUnsafeBytes {
            lsetxattr(procPath(directoryFD, name), xattr.name, $0.baseAddress, $0.count, 0)
        }
        guard status != 0 else { return }
        if errno == ENOTSUP || errno == EOPNOTSUPP { return }
        if errno == EPERM && !privileged { return }
        throw ArchiveError.lastSystemError("lsetxattr \(xattr.name)", displayPath)
    }
}
