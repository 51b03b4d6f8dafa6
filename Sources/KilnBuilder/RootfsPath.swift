import Foundation
import Glibc

/// Paths inside a rootfs resolved the way the container would see them: a symlink in the
/// image (`/app -> /srv`) is followed inside the rootfs, never out to the host's files.
enum RootfsPath {
    /// Creates `path` (absolute, in-container) and its missing parents in `rootfs`, as
    /// `mkdir -p` in the container would; returns whether anything was created.
    @discardableResult
    static func makeDirectories(_ path: String, in rootfs: URL) throws -> Bool {
        var resolved: [String] = []
        var pending = path.split(separator: "/").map(String.init)
        var created = false
        var hops = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let host = rootfs.path + "/" + (resolved + [part]).joined(separator: "/")
            var st = stat()
            if lstat(host, &st) != 0 {
                guard mkdir(host, 0o755) == 0 || errno == EEXIST else {
                    throw BuildError.invalidOption("cannot create \(path): \(String(cString: strerror(errno)))")
                }
                created = true
                resolved.append(part)
            } else if (st.st_mode & S_IFMT) == S_IFLNK {
                hops += 1
                guard hops <= 40 else { throw BuildError.invalidOption("cannot create \(path): too many symlinks") }
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: host)
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init) + pending
            } else if (st.st_mode & S_IFMT) == S_IFDIR {
                resolved.append(part)
            } else {
                throw BuildError.invalidOption("cannot create \(path): /\((resolved + [part]).joined(separator: "/")) is not a directory")
            }
        }
        return created
    }
}
