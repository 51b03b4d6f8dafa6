import Foundation
import Glibc
import KilnArchive

/// Mounting and unmounting overlayfs, and finding out once per process whether it may.
public enum Overlay {
    /// Mounts an overlay of `lower` with `upper`/`work` at `target`.
    ///
    /// `redirect_dir` and `metacopy` are off so that the upper directory always holds whole
    /// files and renamed directories are copied up rather than redirected, which the upper
    /// diff can turn into layer changes.
    static func mount(lower: String, upper: String, work: String, at target: String) throws(StorageError) {
        try mount(lowers: [lower], upper: upper, work: work, at: target)
    }

    /// Mounts an overlay of `lowers` (topmost first) with `upper`/`work` at `target`.
    public static func mount(lowers: [String], upper: String, work: String, at target: String) throws(StorageError) {
        let options = try options(lowers: lowers, upper: upper, work: work)
        try posix("mount overlay", target) { LinuxCalls.mount(source: "overlay", target: target, type: "overlay", data: options) }
    }

    /// The one set of mount options every overlay Kiln mounts gets: `lowers` (topmost first)
    /// under `upper`, and in a user namespace `userxattr` (overlay keeps its markers in
    /// `user.overlay.*`, since `trusted.*` needs the host's root).
    static func options(lowers: [String], upper: String, work: String) throws(StorageError) -> String {
        for path in lowers + [upper, work] where path.contains(",") || path.contains(":") {
            throw StorageError.system(operation: "overlay mount (path has ',' or ':')", path: path, errno: EINVAL)
        }
        // Redirects are never created (renamed directories are copied up whole); as root
        // "off" says so, while userxattr refuses "off" where the kernel reads it as "follow".
        let redirect = UserNamespace.isNested ? "nofollow" : "off"
        let options = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper),workdir=\(work),redirect_dir=\(redirect),metacopy=off,index=off"
        return UserNamespace.isNested ? options + ",userxattr" : options
    }


    /// The xattr overlay marks `name` with (`opaque`, `redirect`, `metacopy`) as it may be
    /// found in an upper directory: `trusted.overlay.` as root mounts it, `user.overlay.` with
    /// `userxattr`.
    static func marker(_ name: String, in xattrs: [String: [UInt8]]) -> [UInt8]? {
        xattrs["trusted.overlay." + name] ?? xattrs["user.overlay." + name]
    }

    /// Whether the xattr `name` is one of overlay's own markers (of either namespace), which no
    /// layer stores.
    static func isMarker(_ name: String) -> Bool {
        name.hasPrefix("trusted.overlay.") || name.hasPrefix("user.overlay.")
    }

    /// Unmounts `target`; if it is busy, detaches it so that it goes away once unused.
    public static func unmount(_ target: String) throws(StorageError) {
        if LinuxCalls.umount2(target, 0) == 0 { return }
        if errno == EINVAL || errno == ENOENT { return }  // not mounted (any more)
        try posix("umount", target) { LinuxCalls.umount2(target, LinuxCalls.detach) }
    }

    /// Whether this process may mount overlayfs, found by trying once in `scratch`.
    static func isAvailable(scratch: URL) async -> Bool {
        await OverlayProbe.shared.isAvailable(scratch: scratch)
    }
}

/// Remembers the outcome of the one trial mount.
actor OverlayProbe {
    static let shared = OverlayProbe()
    private var available: Bool?

    func isAvailable(scratch: URL) -> Bool {
        if let available { return available }
        let result = trial(scratch: scratch)
        available = result
        return result
    }

    private func trial(scratch: URL) -> Bool {
        let base = scratch.path + "/overlay-probe-\(UInt64.random(in: .min ... .max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        do {
            for name in ["lower", "upper", "work", "merged"] { try createDirectory("\(base)/\(name)") }
            try Overlay.mount(lower: "\(base)/lower", upper: "\(base)/upper", work: "\(base)/work", at: "\(base)/merged")
            try Overlay.unmount("\(base)/merged")
            return true
        } catch {
            return false
        }
    }
}
