import Foundation
import Glibc
import KilnArchive

/// Makes a step's overlay upper directory hold what unpacking its layer gives, before it is
/// kept as a layer snapshot. A layer cannot say everything a directory can; what it cannot say
/// must not survive on the one machine that ran the step, or a later step there would see
/// files a fresh machine does not (and the cache would hand out results a fresh build would
/// not give). What a layer leaves out, exactly as `LayerWriter` leaves it out:
/// - sockets (tar has no entry for them): removed;
/// - sub-second mtimes (entries carry whole seconds): cut to the second;
/// - attributes that do not travel (`KilnArchive.Xattrs.role(of:)` is `.host`: ACLs, SELinux labels):
///   removed. Of overlay's own markers only `opaque` stays (with the whiteouts it is how a
///   snapshot says what the layer removed); `origin`, `impure` and `nlink` describe this
///   upper's copy-ups, which an unpacked snapshot does not have.
///
/// Whiteouts are overlay's form of the layer's deletions and stay as they are. The directory's
/// root is no entry of any layer and is left alone.
enum LayerSnapshotConformance {
    /// Conforms the unmounted upper directory `upper`.
    /// Returns the tree as captured before (the budget's size record is made from it).
    @discardableResult
    static func conform(_ upper: URL) async throws -> Snapshot {
        let snapshot = try await Snapshot.capture(upper)
        // Sockets go first: unlinking one moves its directory's mtime, which is set below.
        var socketParents = Set<String>()
        for (path, metadata) in snapshot.entries where metadata.kind == .socket {
            try posix("unlink", path) { unlink(upper.path + "/" + path) }
            socketParents.insert(path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "")
        }
        for (path, metadata) in snapshot.entries where metadata.kind != .socket {
            if metadata.kind == .characterDevice && metadata.rdev == 0 { continue }  // a whiteout
            let absolute = upper.path + "/" + path
            for name in Array(metadata.hostXattrs.keys) + metadata.overlayMarkers.keys.filter({ !$0.hasSuffix(".opaque") }) {
                try posix("lremovexattr \(name)", absolute) { LinuxCalls.lremovexattr(absolute, name) }
            }
            guard metadata.mtime.nanoseconds != 0 || socketParents.contains(path) else { continue }
            var times = [timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit),
                         timespec(tv_sec: Int(metadata.mtime.seconds), tv_nsec: 0)]
            try posix("utimensat", absolute) { utimensat(AT_FDCWD, absolute, &times, AT_SYMLINK_NOFOLLOW) }
        }
        return snapshot
    }
}
