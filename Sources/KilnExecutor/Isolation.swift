import Foundation
import Glibc
import KilnArchive

/// How a build isolates its RUN steps from the machine, by what the process may do here.
/// One place decides it (``Isolation/decide(_:facts:)``), from facts read once.
public enum Isolation: String, Sendable, CaseIterable {
    /// Root on the host: runc with its own namespaces, overlayfs.
    case root
    /// A non-root user: Kiln enters a user namespace of its own (the user's `/etc/subuid` and
    /// `/etc/subgid` ranges through `newuidmap`/`newgidmap`, else its one id) and runs runc
    /// there, rootless.
    case rootless
    /// Root inside a container that has its own user namespace (`hostUsers: false`): as
    /// rootless, from inside.
    case usernsPod = "userns-pod"
    /// No namespace at all (Kaniko's environment): each RUN chrooted into its root filesystem.
    case chroot

    /// What the process may do here, as far as choosing a mode needs.
    public struct Facts: Sendable {
        /// The effective user id.
        public var euid: UInt32
        /// Whether the process already runs in a user namespace other than the host's
        /// (its `uid_map` is not the identity over all ids).
        public var inUserNamespace: Bool
        /// Whether the namespaces a RUN step needs can be created here: as root, a mount, pid,
        /// IPC and UTS namespace; as another user, a user namespace (a seccomp profile, a
        /// missing capability or an AppArmor rule can each refuse them).
        public var canCreateNamespaces: Bool
        /// The user's subordinate id ranges (`/etc/subuid` count, `/etc/subgid` count), nil
        /// when it has none or `newuidmap`/`newgidmap` are missing.
        public var subordinateIDs: (uids: Int, gids: Int)?
        /// For root in a user namespace that may not make the namespaces itself (a pod without
        /// `CAP_SYS_ADMIN`): whether it may make a user namespace, in which it has them all
        /// (`userns-pod`: Kiln enters one, as `rootless` does). False everywhere else.
        public var canCreateNestedUserNamespace: Bool = false

        /// The facts of this process, read (and the namespaces tried) once: the entry point
        /// and the build both ask.
        public static func current() -> Facts { measured }

        private static let measured: Facts = {
            let euid = geteuid()
            var facts = Facts(euid: euid, inUserNamespace: UserNamespace.isNested, canCreateNamespaces: namespacesWork(asRoot: euid == 0),
                              subordinateIDs: subordinateRanges(for: euid))
            if euid == 0, facts.inUserNamespace, !facts.canCreateNamespaces {
                facts.canCreateNestedUserNamespace = namespacesWork(asRoot: false)
            }
            return facts
        }()

        /// Tries it: util-linux's `unshare` with the namespaces a step needs runs `true`.
        static func namespacesWork(asRoot: Bool) -> Bool {
            let flags = asRoot ? ["--mount", "--pid", "--fork", "--ipc", "--uts"] : ["--user", "--map-root-user", "--mount"]
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
                  let pid = try? ChildProcess.spawn(["/usr/bin/unshare"] + flags + ["/bin/true"])
            else { return false }
            return ChildProcess.wait(pid) == 0
        }

        /// The sizes of the user's first `/etc/subuid` and `/etc/subgid` ranges, when both
        /// exist and the setuid helpers that apply them are installed.
        static func subordinateRanges(for uid: UInt32) -> (uids: Int, gids: Int)? {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/newuidmap"),
                  FileManager.default.isExecutableFile(atPath: "/usr/bin/newgidmap"),
                  let user = getpwuid(uid).map({ String(cString: $0.pointee.pw_name) })
            else { return nil }
            func count(_ file: String) -> Int? {
                let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
                for line in lines {
                    let parts = line.split(separator: ":")
                    if parts.count == 3, parts[0] == user || parts[0] == String(uid), let count = Int(parts[2]), count > 0 {
                        return count
                    }
                }
                return nil
            }
            guard let uids = count("/etc/subuid"), let gids = count("/etc/subgid") else { return nil }
            return (uids, gids)
        }
    }

    /// Why a mode cannot be used here.
    public struct Refusal: Error, CustomStringConvertible {
        /// What to do about it.
        public let description: String
    }

    /// The mode for `requested` (nil: detect) on a machine with `facts`.
    ///
    /// Detection order: root who may create namespaces → `root` (`userns-pod` when that root is
    /// itself in a user namespace); root of a user namespace who may only make a nested user
    /// namespace → `userns-pod` too (Kiln enters one); any other user who may create a user namespace →
    /// `rootless`; else `chroot`. A forced mode the facts rule out is refused, naming what is
    /// missing.
    public static func decide(_ requested: Isolation?, facts: Facts) throws -> Isolation {
        let detected: Isolation
        if facts.euid == 0 {
            detected = facts.canCreateNamespaces ? (facts.inUserNamespace ? .usernsPod : .root)
                : facts.canCreateNestedUserNamespace ? .usernsPod : .chroot
        } else {
            detected = facts.canCreateNamespaces ? .rootless : .chroot
        }
        guard let requested, requested != detected else { return detected }
        switch requested {
        case .root:
            throw Refusal(description: facts.euid != 0
                ? "--isolation root needs root; as uid \(facts.euid) use --isolation rootless"
                : "--isolation root needs the host's user namespace; Kiln runs in a user namespace of its own here: use --isolation userns-pod")
        case .rootless:
            guard facts.canCreateNamespaces else {
                throw Refusal(description: "--isolation rootless needs user namespaces, which this machine refuses (see /proc/sys/user/max_user_namespaces, seccomp and AppArmor)")
            }
            return .rootless
        case .usernsPod:
            guard facts.inUserNamespace else {
                throw Refusal(description: "--isolation userns-pod is for a container with a user namespace of its own (hostUsers: false); none here")
            }
            return .usernsPod
        case .chroot:
            return .chroot
        }
    }

    /// Whether RUN steps and Kiln's own files live in a user namespace (overlayfs then needs
    /// `userxattr`, and device nodes cannot be made).
    public var usesUserNamespace: Bool { self == .rootless || self == .usernsPod }

    /// One line for the start of a build.
    public func summary(facts: Facts) -> String {
        switch self {
        case .root: return "isolation: root (runc with namespaces of its own)"
        case .usernsPod: return "isolation: userns-pod (root inside a user namespace of the container; runc rootless)"
        case .chroot: return "isolation: chroot (no namespace can be made here: RUN is not available yet, builds without RUN work)"
        case .rootless:
            if let ids = facts.subordinateIDs {
                return "isolation: rootless (uid \(facts.euid) is root of a user namespace with \(ids.uids) subordinate uids and \(ids.gids) gids; runc rootless)"
            }
            return "isolation: rootless with a single-id mapping (uid \(facts.euid) is root, and no other uid or gid exists: "
                + "files of other owners are written as root's; add a range to /etc/subuid and /etc/subgid for the image's owners)"
        }
    }
}
