import Foundation
import Glibc

/// Kiln's local state directory and its fixed layout.
///
/// `$KILN_ROOT`, else `$XDG_DATA_HOME/kiln`, else `~/.local/share/kiln`:
/// `blobs/sha256/…` (content store), `snapshots/layers/<chainID>/` (layer snapshots),
/// `snapshots/<chainID>/` (unpacked chains),
/// `cache/` (local cache entries), `tmp/` (per-build scratch).
public struct KilnRoot: Sendable, Hashable {
    /// The root directory.
    public let url: URL
    /// The free space and inodes every write under this root leaves on its filesystem.
    public var reserve: DiskReserve
    /// What the root keeps of snapshots and blobs before the least recently used go.
    public var budget: DiskBudget

    /// A root at an explicit directory; `reserve` defaults to the environment's
    /// (`KILN_MIN_FREE_SPACE`, `KILN_MIN_FREE_INODES`), else ``DiskReserve/default``, and
    /// `budget` to `KILN_DISK_BUDGET`, else ``DiskBudget/default``.
    public init(url: URL, reserve: DiskReserve? = nil, budget: DiskBudget? = nil) {
        self.url = url
        self.reserve = reserve ?? (try? DiskReserve.fromEnvironment()) ?? .default
        self.budget = budget ?? (try? DiskBudget.fromEnvironment()) ?? .default
    }

    /// The root chosen from the environment, as described above.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> KilnRoot {
        if let root = environment["KILN_ROOT"], !root.isEmpty {
            return KilnRoot(url: URL(fileURLWithPath: root))
        }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return KilnRoot(url: URL(fileURLWithPath: xdg).appendingPathComponent("kiln"))
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return KilnRoot(url: home.appendingPathComponent(".local/share/kiln"))
    }

    /// `blobs/` — the content store.
    public var blobs: URL { url.appendingPathComponent("blobs") }
    /// `snapshots/` — unpacked layer chains by chain ID.
    public var snapshots: URL { url.appendingPathComponent("snapshots") }
    /// `cache/` — local cache entries.
    public var cache: URL { url.appendingPathComponent("cache") }
    /// `tmp/` — per-build scratch, removed at the end of every build.
    public var tmp: URL { url.appendingPathComponent("tmp") }
    /// `owners/` — one ``OwnershipRecord`` per running build.
    public var owners: URL { url.appendingPathComponent("owners") }

    /// Makes the root private before anything is written into it: created mode 0700, or, when
    /// it exists, set to 0700 if it belongs to this user, refused if it belongs to another.
    ///
    /// Inside are unpacked image layers: setuid binaries and device nodes as the images ship
    /// them, which must stay usable by the builds' containers and unchanged for the layers'
    /// digests. The one directory no one else may enter is what keeps them from another user on
    /// the host (a setuid root shell from an image, a disk's block device).
    public func makePrivate() throws {
        let path = url.path
        let parent = url.deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: parent) { try createDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw StorageError.system(operation: "mkdir", path: path, errno: errno)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw StorageError.system(operation: "stat", path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw StorageError.system(operation: "use", path: path, errno: ENOTDIR) }
        guard info.st_uid == geteuid() else { throw StorageError.notOwner(path: path, owner: info.st_uid) }
        if info.st_mode & 0o777 != 0o700 {
            guard chmod(path, 0o700) == 0 else { throw StorageError.system(operation: "chmod", path: path, errno: errno) }
        }
    }
}
