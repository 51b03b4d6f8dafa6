import Foundation
import Glibc
import Synchronization
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

    /// Mounts an overlay of `lowers` (topmost first) at `target`, writable into `upper`/`work`,
    /// or read-only when `upper` is nil (then at least two lowers: one directory needs no mount).
    ///
    /// The options go through `mount(2)` when they fit in the page it copies; a deeper stack
    /// (every layer of an image its own lower) goes through the new mount API, one `lowerdir+`
    /// per lower, which has no such limit (Linux 6.8). Where neither can say it,
    /// ``StorageError/overlayTooDeep(lowers:)`` lets the caller flatten the stack instead.
    public static func mount(lowers: [String], upper: String?, work: String?, at target: String) throws(StorageError) {
        let options = try options(lowers: lowers, upper: upper, work: work)
        if options.utf8.count < legacyOptionLimit {
            try posix("mount overlay", target) { LinuxCalls.mount(source: "overlay", target: target, type: "overlay", data: options) }
            return
        }
        try mountThroughFSConfig(lowers: lowers, upper: upper, work: work, at: target)
    }

    /// Mounts an overlay of `lowers` (topmost first) with `upper`/`work` at `target`.
    public static func mount(lowers: [String], upper: String, work: String, at target: String) throws(StorageError) {
        try mount(lowers: lowers, upper: Optional(upper), work: Optional(work), at: target)
    }

    /// What `mount(2)` copies of the options: one page, less the terminating NUL and a margin.
    static let legacyOptionLimit = 4000

    private static func mountThroughFSConfig(lowers: [String], upper: String?, work: String?, at target: String) throws(StorageError) {
        guard LinuxCalls.hasMountAPI else { throw StorageError.overlayTooDeep(lowers: lowers.count) }
        let context = LinuxCalls.fsopen("overlay")
        guard context >= 0 else { throw StorageError.overlayTooDeep(lowers: lowers.count) }
        defer { close(context) }
        for lower in lowers where LinuxCalls.fsconfigSetString(context, "lowerdir+", lower) != 0 {
            // EINVAL for the key itself: a kernel before 6.8; anything else is the lower's fault.
            if errno == EINVAL && lower == lowers.first { throw StorageError.overlayTooDeep(lowers: lowers.count) }
            throw StorageError.system(operation: "fsconfig overlay lowerdir+", path: lower, errno: errno)
        }
        var settings = writableOptions(upper: upper, work: work)
        settings += fixedOptions.map { ($0.0, Optional($0.1)) }
        if UserNamespace.isNested { settings.append(("userxattr", nil)) }
        for (key, value) in settings {
            let status = value.map { LinuxCalls.fsconfigSetString(context, key, $0) } ?? LinuxCalls.fsconfigSetFlag(context, key)
            if status != 0 { throw StorageError.system(operation: "fsconfig overlay \(key)", path: target, errno: errno) }
        }
        try posix("fsconfig overlay create", target) { LinuxCalls.fsconfigCreate(context) }
        let mount = try posix("fsmount overlay", target) { LinuxCalls.fsmount(context) }
        defer { close(mount) }
        try posix("move_mount overlay", target) { LinuxCalls.moveMount(mount, to: target) }
    }

    /// Options every overlay gets, whichever call mounts it. Redirects are never created
    /// (renamed directories are copied up whole); as root "off" says so, while userxattr
    /// refuses "off" where the kernel reads it as "follow".
    private static var fixedOptions: [(String, String)] {
        [("redirect_dir", UserNamespace.isNested ? "nofollow" : "off"), ("metacopy", "off"), ("index", "off")]
    }

    /// The one set of mount options every overlay Kiln mounts gets: `lowers` (topmost first)
    /// under `upper` (none: read-only), and in a user namespace `userxattr` (overlay keeps its
    /// markers in `user.overlay.*`, since `trusted.*` needs the host's root).
    static func options(lowers: [String], upper: String?, work: String?) throws(StorageError) -> String {
        for path in lowers + [upper, work].compactMap({ $0 }) where path.contains(",") || path.contains(":") {
            throw StorageError.system(operation: "overlay mount (path has ',' or ':')", path: path, errno: EINVAL)
        }
        var parts = ["lowerdir=\(lowers.joined(separator: ":"))"]
        parts += writableOptions(upper: upper, work: work).map { key, value in value.map { "\(key)=\($0)" } ?? key }
        parts += fixedOptions.map { "\($0.0)=\($0.1)" }
        if UserNamespace.isNested { parts.append("userxattr") }
        return parts.joined(separator: ",")
    }

    /// The options of a writable overlay (none for a read-only one): `upperdir`, `workdir`, and
    /// `volatile` where the trial mount found the kernel takes it. A nil value is a flag.
    private static func writableOptions(upper: String?, work: String?) -> [(String, String?)] {
        guard let upper, let work else { return [] }
        return [("upperdir", upper), ("workdir", work)] + (volatileUpper.load(ordering: .relaxed) ? [("volatile", nil)] : [])
    }

    /// Whether writable overlays are mounted `volatile` (Linux 5.10): no sync of the upper
    /// filesystem when one is unmounted, which wrote out every file a step made before the next
    /// could start. Kiln never mounts an upper twice, and a snapshot made from one is trusted by
    /// ``SnapshotDurability``, not by the sync. Set by the trial mount where the kernel takes it.
    static let volatileUpper = Atomic<Bool>(false)

    /// The xattr overlay marks `name` with (`opaque`, `redirect`, `metacopy`) as it may be
    /// found in an upper directory: `trusted.overlay.` as root mounts it, `user.overlay.` with
    /// `userxattr`.
    static func marker(_ name: String, in xattrs: [String: [UInt8]]) -> [UInt8]? {
        xattrs["trusted.overlay." + name] ?? xattrs["user.overlay." + name]
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
            // Volatile first; a kernel before 5.10 refuses the option, then it is left out.
            Overlay.volatileUpper.store(true, ordering: .relaxed)
            do {
                try Overlay.mount(lower: "\(base)/lower", upper: "\(base)/upper", work: "\(base)/work", at: "\(base)/merged")
            } catch {
                Overlay.volatileUpper.store(false, ordering: .relaxed)
                try Overlay.mount(lower: "\(base)/lower", upper: "\(base)/upper", work: "\(base)/work", at: "\(base)/merged")
            }
            try Overlay.unmount("\(base)/merged")
            return true
        } catch {
            return false
        }
    }
}
