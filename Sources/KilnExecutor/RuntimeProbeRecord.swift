import Foundation
import KilnArchive
import KilnOCI
import KilnStorage

/// What earlier Kiln processes of this boot learnt by probing a runtime: a binary that ran the
/// trivial container is not probed again (a probe is a whole container start, on the path of
/// every build with a RUN) until the binary, this boot, or what this process is — user, user
/// namespace, capabilities, seccomp, cgroup — changes, since each of those decides whether a
/// container can start. Only success is kept: a failure is probed again, for its message.
///
/// Records live in `/run/kiln/runtime-probes` for root (a memory filesystem emptied at boot,
/// shared by every Kiln root). In a user namespace (rootless, userns-pod), where `/run` is not
/// writable, they live in a directory of the user's own, shared by all the user's Kiln roots
/// too: `$XDG_RUNTIME_DIR/kiln/runtime-probes`, else `/tmp/kiln-<host uid>/runtime-probes`
/// when that directory is the user's and no one else may write it, else
/// `$KILN_ROOT/runtime-probes`. The key holds the boot ID either way.
struct RuntimeProbeRecord: Sendable {
    /// Where records are kept; nil keeps none.
    let directory: URL?

    /// The directory for this process (see the type).
    static var standard: RuntimeProbeRecord {
        if geteuid() == 0, !UserNamespace.isNested {
            return RuntimeProbeRecord(directory: URL(fileURLWithPath: "/run/kiln/runtime-probes"))
        }
        let environment = ProcessInfo.processInfo.environment
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/"), isPrivate(runtime) {
            return RuntimeProbeRecord(directory: URL(fileURLWithPath: runtime).appendingPathComponent("kiln/runtime-probes"))
        }
        let shared = "/tmp/kiln-\(UserNamespace.hostUID)"
        if mkdir(shared, 0o700) == 0 || errno == EEXIST, isPrivate(shared) {
            return RuntimeProbeRecord(directory: URL(fileURLWithPath: shared).appendingPathComponent("runtime-probes"))
        }
        return RuntimeProbeRecord(directory: KilnRoot.fromEnvironment().url.appendingPathComponent("runtime-probes"))
    }

    /// Whether `path` is a directory (not a link to one) this process's user owns and no one
    /// else may write: a record another user could plant there would skip a probe.
    static func isPrivate(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == geteuid()
            && info.st_mode & 0o022 == 0
    }

    /// Where the record of `executable` for this process's key is (nil: none can be kept).
    func file(for executable: URL) -> URL? {
        guard let directory, let key = Self.key(for: executable) else { return nil }
        return directory.appendingPathComponent(key)
    }

    /// Whether an earlier process with the same key saw the runtime of `file` run a container.
    func worked(_ file: URL) -> Bool {
        FileManager.default.fileExists(atPath: file.path)
    }

    /// Notes in `file` that `executable` ran a container (best effort: a record that cannot be
    /// written only costs the next process a probe).
    func recordWorked(_ executable: URL, in file: URL) {
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        _ = FileManager.default.createFile(atPath: file.path, contents: Data(executable.path.utf8))
    }

    /// The binary's identity (path, inode, size, times) and this process's boot and standing.
    static func key(for executable: URL) -> String? {
        var info = stat()
        guard stat(executable.path, &info) == 0 else { return nil }
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        let status = read("/proc/self/status").split(separator: "\n")
            .filter { $0.hasPrefix("Cap") || $0.hasPrefix("Seccomp") || $0.hasPrefix("NoNewPrivs") }
            .joined(separator: "\n")
        let facts = [
            executable.path, "\(info.st_dev) \(info.st_ino) \(info.st_size)",
            "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)",
            read("/proc/sys/kernel/random/boot_id"), "\(geteuid())", read("/proc/self/uid_map"), read("/proc/self/gid_map"),
            status, read("/proc/self/cgroup"),
        ]
        return Digest.sha256(of: Data(facts.joined(separator: "\u{0}").utf8)).encoded
    }
}
