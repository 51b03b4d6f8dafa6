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
        /// when it has none, `newuidmap`/`newgidmap` are missing, or `no_new_privs` keeps
        /// those setuid helpers from applying them.
        public var subordinateIDs: (uids: Int, gids: Int)?
        /// For root in a user namespace that may not make the namespaces itself (a pod without
        /// `CAP_SYS_ADMIN`): whether it may make a user namespace, in which it has them all
        /// (`userns-pod`: Kiln enters one, as `rootless` does). False everywhere else.
        public var canCreateNestedUserNamespace: Bool = false
        /// The effective capabilities Kiln names (`CapEff` of `/proc/self/status`); nil when
        /// they could not be read.
        public var capabilities: Set<LinuxCapability>?
        /// Whether `no_new_privs` is set (`NoNewPrivs: 1`; Kubernetes' `allowPrivilegeEscalation:
        /// false`, systemd's `NoNewPrivileges=`): set-id binaries and file capabilities then
        /// give nothing, `newuidmap` included.
        public var noNewPrivileges: Bool
        /// What says this process runs in a container (`/.dockerenv`, …), nil when nothing does.
        public var containerEvidence: String?
        /// What on this machine refuses user namespaces, each with what to change (empty when
        /// nothing Kiln knows of does).
        public var userNamespaceBlockers: [String]

        /// Facts as given; what is not given is the unconstrained case.
        public init(euid: UInt32, inUserNamespace: Bool = false, canCreateNamespaces: Bool,
                    subordinateIDs: (uids: Int, gids: Int)? = nil, capabilities: Set<LinuxCapability>? = nil,
                    noNewPrivileges: Bool = false, containerEvidence: String? = nil, userNamespaceBlockers: [String] = []) {
            self.euid = euid
            self.inUserNamespace = inUserNamespace
            self.canCreateNamespaces = canCreateNamespaces
            self.subordinateIDs = subordinateIDs
            self.capabilities = capabilities
            self.noNewPrivileges = noNewPrivileges
            self.containerEvidence = containerEvidence
            self.userNamespaceBlockers = userNamespaceBlockers
        }

        /// The facts of this process, read (and the namespaces tried) once: the entry point
        /// and the build both ask.
        public static func current() -> Facts { measured }

        private static let measured: Facts = {
            let euid = geteuid()
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let noNewPrivileges = statusField("NoNewPrivs", in: status) == "1"
            let capabilities = statusField("CapEff", in: status).flatMap { UInt64($0, radix: 16) }.map(LinuxCapability.set(fromMask:))
            var facts = Facts(euid: euid, inUserNamespace: UserNamespace.isNested, canCreateNamespaces: namespacesWork(asRoot: euid == 0),
                              subordinateIDs: noNewPrivileges ? nil : subordinateRanges(for: euid), capabilities: capabilities,
                              noNewPrivileges: noNewPrivileges, containerEvidence: ContainerEvidence.read(),
                              userNamespaceBlockers: userNamespaceBlockers(noNewPrivileges: noNewPrivileges, uid: euid))
            if euid == 0, facts.inUserNamespace, !facts.canCreateNamespaces {
                facts.canCreateNestedUserNamespace = namespacesWork(asRoot: false)
            }
            return facts
        }()

        /// The value of `name:` in a `/proc/PID/status` text.
        static func statusField(_ name: String, in status: String) -> String? {
            for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
                return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }

        /// Tries it: util-linux's `unshare` with the namespaces a step needs runs `true`.
        static func namespacesWork(asRoot: Bool) -> Bool {
            let flags = asRoot ? ["--mount", "--pid", "--fork", "--ipc", "--uts"] : ["--user", "--map-root-user", "--mount"]
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
                  let pid = try? ChildProcess.spawn(["/usr/bin/unshare"] + flags + ["/bin/true"])
            else { return false }
            return ChildProcess.wait(pid) == 0
        }

        /// The host settings that refuse an unprivileged user namespace (or its subordinate
        /// ids), each with what to change.
        static func userNamespaceBlockers(noNewPrivileges: Bool, uid: UInt32) -> [String] {
            func setting(_ path: String) -> String? {
                (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var blockers: [String] = []
            if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" {
                blockers.append("AppArmor refuses unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): "
                    + "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile with `userns,` for kiln")
            }
            if setting("/proc/sys/user/max_user_namespaces") == "0" {
                blockers.append("user namespaces are switched off (user.max_user_namespaces = 0): sysctl -w user.max_user_namespaces=15000")
            }
            if setting("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
                blockers.append("unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone = 0): "
                    + "sysctl -w kernel.unprivileged_userns_clone=1")
            }
            if noNewPrivileges, uid != 0 {
                blockers.append("no_new_privs is set (allowPrivilegeEscalation: false, NoNewPrivileges=), so the setuid newuidmap "
                    + "and newgidmap cannot apply /etc/subuid and /etc/subgid: allow privilege escalation for kiln")
            }
            return blockers
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

        /// The capabilities a chroot RUN step needs of Kiln: `SYS_CHROOT` to enter the root,
        /// `SETUID`/`SETGID` to take the step's user, `SETPCAP` to drop `SYS_CHROOT` and
        /// `SYS_PTRACE` from the step, `MKNOD` for its /dev, and `CHOWN`, `DAC_OVERRIDE`,
        /// `FOWNER` to write the image's files of every owner.
        public static let chrootRunCapabilities: [LinuxCapability] = [
            .sysChroot, .setuid, .setgid, .setpcap, .mknod, .chown, .dacOverride, .fowner,
        ]

        /// Why chroot isolation cannot run RUN steps here (the capabilities missing, by name), or
        /// nil when it can. `no_new_privs` does not stop it: Kiln enters the chroot as the root
        /// it already is; only set-id binaries of the image gain nothing in the step.
        public var chrootRunRefusal: String? {
            guard let capabilities else { return nil }
            let missing = Self.chrootRunCapabilities.filter { !capabilities.contains($0) }
            guard !missing.isEmpty else { return nil }
            return "RUN in chroot isolation needs the capabilities " + Self.chrootRunCapabilities.map(\.name).joined(separator: ", ")
                + "; this container lacks " + missing.map(\.name).joined(separator: ", ")
                + " (add them to the container's securityContext.capabilities; under Pod Security Standard restricted, "
                + "builds without RUN still work)"
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
    /// `rootless`; root who may not, inside a container → `chroot`. Root outside a container
    /// that may create no namespace is refused (chroot is not a sandbox for a host: it takes
    /// `--isolation chroot`), and so is any other user who may create no user namespace; the
    /// refusal names what blocks them. A forced mode the facts rule out is refused, naming
    /// what is missing.
    public static func decide(_ requested: Isolation?, facts: Facts) throws -> Isolation {
        let blockers = facts.userNamespaceBlockers.isEmpty ? ""
            : ": " + facts.userNamespaceBlockers.joined(separator: "; ")
        let detected: Isolation?
        if facts.euid == 0 {
            detected = facts.canCreateNamespaces ? (facts.inUserNamespace ? .usernsPod : .root)
                : facts.canCreateNestedUserNamespace ? .usernsPod : facts.containerEvidence != nil ? .chroot : nil
        } else {
            detected = facts.canCreateNamespaces ? .rootless : nil
        }
        guard let requested else {
            if let detected { return detected }
            if facts.euid != 0 {
                throw Refusal(description: "no user namespace can be made here" + (blockers.isEmpty
                    ? " (see /proc/sys/user/max_user_namespaces, seccomp and AppArmor)" : blockers)
                    + "; without one uid \(facts.euid) cannot write files of other owners: run Kiln as root, or allow user namespaces")
            }
            throw Refusal(description: "no namespace can be made here (a seccomp profile, AppArmor or a missing CAP_SYS_ADMIN refuses "
                + "unshare) and this is not a container, where chroot isolation would be chosen: allow namespaces for kiln, "
                + "or force --isolation chroot (RUN steps then share this machine's network, processes and kernel)")
        }
        guard requested != detected else { return requested }
        switch requested {
        case .root:
            throw Refusal(description: facts.euid != 0
                ? "--isolation root needs root; as uid \(facts.euid) use --isolation rootless"
                : facts.inUserNamespace
                    ? "--isolation root needs the host's user namespace; Kiln runs in a user namespace of its own here: use --isolation userns-pod"
                    : "--isolation root needs namespaces, which this machine refuses: use --isolation chroot")
        case .rootless:
            guard facts.canCreateNamespaces else {
                throw Refusal(description: "--isolation rootless needs user namespaces, which this machine refuses" + (blockers.isEmpty
                    ? " (see /proc/sys/user/max_user_namespaces, seccomp and AppArmor)" : blockers))
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

    /// How this mode runs a RUN step — the one place that picks the executor's backend: the
    /// OCI runtime (found by `runtime`, asked only here) with namespaces, or chrooted.
    public func executorBackend(runtime: () async throws -> OCIRuntime) async throws -> Executor.Backend {
        switch self {
        case .root, .rootless, .usernsPod: return .ociRuntime(try await runtime())
        case .chroot: return .chroot
        }
    }

    /// Whether a step's working rootfs may be an overlay mount. Not in chroot isolation: it
    /// places the step's mounts into the rootfs itself (moving the image's entries aside),
    /// which an overlay would record as copied-up changes; it works on a copy.
    public var allowsOverlayRootfs: Bool { self != .chroot }

    /// Whether RUN steps and Kiln's own files live in a user namespace (overlayfs then needs
    /// `userxattr`, and device nodes cannot be made).
    public var usesUserNamespace: Bool { self == .rootless || self == .usernsPod }

    /// One line for the start of a build.
    public func summary(facts: Facts) -> String {
        switch self {
        case .root: return "isolation: root (runc with namespaces of its own)"
        case .usernsPod: return "isolation: userns-pod (root inside a user namespace of the container; runc rootless)"
        case .chroot:
            var line = "isolation: chroot (each RUN chrooted into its root filesystem, in no namespace of its own: it shares "
                + "this machine's network, processes, hostname and kernel; for trusted Dockerfiles)"
            line += facts.capabilities?.contains(.sysAdmin) == false
                ? "; /proc as far as it can be given: an empty directory (mounting procfs needs CAP_SYS_ADMIN)"
                : "; /proc as far as it can be given: procfs of this machine's processes where it can be mounted, else an empty directory"
            if facts.containerEvidence == nil {
                line += "; forced outside a container: no device cgroup or container boundary holds a root step, which can "
                    + "make and open device nodes of this machine"
            }
            if let refusal = facts.chrootRunRefusal { line += "; " + refusal }
            if facts.noNewPrivileges {
                line += "; no_new_privs is set, so set-id binaries of the image gain no privileges in RUN"
            }
            return line
        case .rootless:
            if let ids = facts.subordinateIDs {
                return "isolation: rootless (uid \(facts.euid) is root of a user namespace with \(ids.uids) subordinate uids and \(ids.gids) gids; runc rootless)"
            }
            let fix = facts.noNewPrivileges
                ? "no_new_privs is set, so newuidmap cannot apply /etc/subuid and /etc/subgid: allow privilege escalation for kiln"
                : "add a range to /etc/subuid and /etc/subgid for the image's owners"
            return "isolation: rootless with a single-id mapping (uid \(facts.euid) is root, and no other uid or gid exists: "
                + "files of other owners are written as root's; \(fix))"
        }
    }
}
