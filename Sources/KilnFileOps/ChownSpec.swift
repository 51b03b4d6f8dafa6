import Foundation
import KilnExecutor

/// The owner `--chown=user[:group]` gives copied files, with BuildKit's rules: a user name
/// takes its passwd uid and primary gid, a numeric uid without a group gets the same number
/// as gid, a group (name or id) overrides the gid; names are looked up in the destination
/// rootfs's `/etc/passwd` and `/etc/group`, never the host's.
enum ChownSpec {
    /// The uid and gid `spec` means in `rootfs`.
    static func resolve(_ spec: String, in rootfs: URL) throws(FileOperationError) -> (uid: UInt32, gid: UInt32) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let resolver = UserResolver(rootfs: rootfs)
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        do {
            if let id = UInt32(parts[0]) {
                uid = id
                gid = id
            } else if !parts[0].isEmpty {
                let user = try resolver.resolve(parts[0])
                uid = user.uid
                gid = user.gid
            }
            if parts.count > 1, !parts[1].isEmpty {
                gid = try UInt32(parts[1]) ?? resolver.resolve("0:" + parts[1]).gid
            }
        } catch {
            throw FileOperationError("unable to convert uid/gid chown string to host mapping: \(error)")
        }
        return (uid, gid)
    }
}
