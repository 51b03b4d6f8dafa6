import Foundation
import Glibc

/// Mounting and unmounting overlayfs, and finding out once per process whether it may.
enum Overlay {
    /// Mounts an overlay of `lower` with `upper`/`work` at `target`.
    ///
    /// `redirect_dir` and `metacopy` are off so that the upper directory always holds whole
    /// files and renamed directories are copied up rather than redirected, which the upper
    /// diff can turn into layer changes.
    static func mount(lower: String, upper: String, work: String, at target: String) throws(StorageError) {
        for path in [lower, upper, work] where path.contains(",") || path.contains(":") {
            throw StorageError.system(operation: "overlay mount (path has ',' or ':')", path: path, errno: EINVAL)
        }
        let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work),redirect_dir=off,metacopy=off,index=off"
        try posix("mount overlay", target) { LinuxCalls.mount(source: "overlay", target: target, type: "overlay", data: options) }
    }

    /// Unmounts `target`; if it is busy, detaches it so that it goes away once unused.
    static func unmount(_ target: String) throws(StorageError) {
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
