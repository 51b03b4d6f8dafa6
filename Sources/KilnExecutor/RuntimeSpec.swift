/// The OCI runtime specification (`config.json` of a bundle), limited to what Kiln sets.
///
/// Field names follow runtime-spec 1.0.2 so runc and crun read the encoded JSON as is.
public struct RuntimeSpec: Codable, Sendable, Equatable {
    /// The runtime-spec version this configuration follows.
    public var ociVersion: String = "1.0.2"
    /// The process started in the container.
    public var process: Process
    /// The root filesystem.
    public var root: Root
    /// The hostname set in the container's UTS namespace.
    public var hostname: String?
    /// Mounts, in the order the runtime performs them.
    public var mounts: [Mount]
    /// Linux-specific isolation.
    public var linux: Linux

    /// Creates a specification.
    public init(process: Process, root: Root, hostname: String?, mounts: [Mount], linux: Linux) {
        self.process = process
        self.root = root
        self.hostname = hostname
        self.mounts = mounts
        self.linux = linux
    }

    /// The container process.
    public struct Process: Codable, Sendable, Equatable {
        /// Whether a pseudo-terminal is allocated; RUN steps never get one, as with Docker.
        public var terminal: Bool = false
        /// The user the process runs as.
        public var user: User
        /// The argument vector; the first element is the program.
        public var args: [String]
        /// `KEY=value` pairs.
        public var env: [String]
        /// The working directory, absolute inside the container.
        public var cwd: String
        /// Capability sets.
        public var capabilities: Capabilities
        /// Resource limits.
        public var rlimits: [Rlimit]
        /// Whether `execve` may no longer grant privileges (setuid binaries).
        public var noNewPrivileges: Bool

        /// Creates a process description.
        public init(user: User, args: [String], env: [String], cwd: String, capabilities: Capabilities,
                    rlimits: [Rlimit], noNewPrivileges: Bool = false) {
            self.user = user
            self.args = args
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
        }
    }

    /// Numeric identity of the container process.
    public struct User: Codable, Sendable, Equatable {
        /// User id.
        public var uid: UInt32
        /// Primary group id.
        public var gid: UInt32
        /// Supplementary group ids.
        public var additionalGids: [UInt32]?

        /// Creates a user.
        public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }

    /// Linux capability sets, as `CAP_*` names.
    public struct Capabilities: Codable, Sendable, Equatable {
        /// Bounding set.
        public var bounding: [String]
        /// Effective set.
        public var effective: [String]
        /// Permitted set.
        public var permitted: [String]
        /// Inheritable set.
        public var inheritable: [String]

        /// Uses the same list for the bounding, effective and permitted sets; inheritable stays
        /// empty, as in Docker since 20.10, so non-root children do not keep capabilities.
        public init(_ names: [String]) {
            bounding = names
            effective = names
            permitted = names
            inheritable = []
        }
    }

    /// One POSIX resource limit.
    public struct Rlimit: Codable, Sendable, Equatable {
        /// The limit name, for example `RLIMIT_NOFILE`.
        public var type: String
        /// Hard limit.
        public var hard: UInt64
        /// Soft limit.
        public var soft: UInt64

        /// Creates a limit.
        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }

    /// The container's root filesystem.
    public struct Root: Codable, Sendable, Equatable {
        /// Absolute path of the rootfs directory on the host.
        public var path: String
        /// Whether the rootfs is mounted read-only.
        public var readonly: Bool

        /// Creates a root.
        public init(path: String, readonly: Bool = false) {
            self.path = path
            self.readonly = readonly
        }
    }

    /// One mount.
    public struct Mount: Codable, Sendable, Equatable {
        /// Absolute path inside the container.
        public var destination: String
        /// Filesystem type (`proc`, `tmpfs`, `bind`, …).
        public var type: String
        /// Device, host path for binds, or a label.
        public var source: String
        /// Mount options as for mount(8).
        public var options: [String]

        /// Creates a mount.
        public init(destination: String, type: String, source: String, options: [String]) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    /// Linux namespaces, devices, masks and cgroup device rules.
    public struct Linux: Codable, Sendable, Equatable {
        /// Namespaces to create.
        public var namespaces: [Namespace]
        /// Device nodes created in the container's `/dev`.
        public var devices: [Device]
        /// Cgroup resources; only the device allow-list is set.
        public var resources: Resources
        /// Paths made unreadable (a /dev/null or empty tmpfs mounted over them).
        public var maskedPaths: [String]
        /// Paths remounted read-only.
        public var readonlyPaths: [String]
        /// Namespaced sysctls set in the container (`net.*` apply to its network namespace).
        public var sysctl: [String: String]?

        /// Creates the Linux section.
        public init(namespaces: [Namespace], devices: [Device], resources: Resources,
                    maskedPaths: [String], readonlyPaths: [String], sysctl: [String: String]? = nil) {
            self.namespaces = namespaces
            self.devices = devices
            self.resources = resources
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.sysctl = sysctl
        }
    }

    /// A namespace: a new one, or (with `path`) an existing one to join.
    public struct Namespace: Codable, Sendable, Equatable {
        /// `pid`, `ipc`, `uts`, `mount`, `network`, `cgroup` or `user`.
        public var type: String
        /// A namespace file to join (a bind-mounted `/proc/PID/ns/…`); nil creates a new namespace.
        public var path: String?

        /// Creates a namespace entry.
        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    /// A device node.
    public struct Device: Codable, Sendable, Equatable {
        /// Path inside the container.
        public var path: String
        /// `c` for character devices.
        public var type: String
        /// Major number.
        public var major: Int64
        /// Minor number.
        public var minor: Int64
        /// Permission bits.
        public var fileMode: UInt32
        /// Owner.
        public var uid: UInt32
        /// Group.
        public var gid: UInt32

        /// Creates a device node, by default a character device owned by root.
        public init(path: String, type: String = "c", major: Int64, minor: Int64, fileMode: UInt32 = 0o666,
                    uid: UInt32 = 0, gid: UInt32 = 0) {
            self.path = path
            self.type = type
            self.major = major
            self.minor = minor
            self.fileMode = fileMode
            self.uid = uid
            self.gid = gid
        }
    }

    /// Cgroup resources.
    public struct Resources: Codable, Sendable, Equatable {
        /// Device cgroup rules, evaluated in order.
        public var devices: [DeviceRule]

        /// Creates resources.
        public init(devices: [DeviceRule]) {
            self.devices = devices
        }
    }

    /// One device cgroup rule.
    public struct DeviceRule: Codable, Sendable, Equatable {
        /// Whether matching devices are allowed.
        public var allow: Bool
        /// `a`, `c` or `b`; nil matches every type.
        public var type: String?
        /// Major number; nil matches all.
        public var major: Int64?
        /// Minor number; nil matches all.
        public var minor: Int64?
        /// `r`, `w`, `m` combination.
        public var access: String?

        /// Creates a rule.
        public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
            self.allow = allow
            self.type = type
            self.major = major
            self.minor = minor
            self.access = access
        }
    }
}
