import Foundation

/// How a RUN step reaches the network. Part of what the executor consumes and of a step's
/// cache key, hence `Codable` and `Hashable`.
public enum NetworkMode: String, Codable, Hashable, Sendable, CaseIterable {
    /// Kiln's default, the sandbox network: a network namespace of the step's own with NAT
    /// egress through slirp4netns (user-mode TCP/IP, so no bridge, veth or firewall rule on
    /// the host). The host's loopback and link-local addresses (169.254.0.0/16, fe80::/10;
    /// cloud metadata services live there) are unreachable from it.
    case `default`
    /// The host's network namespace (`RUN --network=host`, `--network host`); needs the
    /// `network.host` entitlement.
    case host
    /// A private network namespace holding only the loopback interface (`RUN --network=none`).
    case none

    /// Whether the step gets its own network namespace.
    var isolated: Bool { self != .host }
}

/// The sandbox a RUN step runs in (`RUN --security=…`). Part of what the executor consumes
/// and of a step's cache key, hence `Codable` and `Hashable`.
public enum SecurityMode: String, Codable, Hashable, Sendable, CaseIterable {
    /// Docker's default container: a reduced capability set, masked and read-only /proc and
    /// /sys paths, only the standard device nodes.
    case sandbox
    /// BuildKit's `--security=insecure`: every capability, the host's device nodes, writable
    /// /sys and cgroupfs, nothing masked. Needs the `security.insecure` entitlement.
    case insecure
}

/// A privilege a build must be granted explicitly (`kiln build --allow …`), named as in BuildKit.
public enum Entitlement: String, Codable, Hashable, Sendable, CaseIterable {
    /// RUN steps may use the host's network namespace.
    case networkHost = "network.host"
    /// RUN steps may run with `--security=insecure`.
    case securityInsecure = "security.insecure"
}

/// An extra mount for one step (secrets, caches, the build context, scratch space).
public enum StepMount: Sendable, Equatable {
    /// A host file or directory bind-mounted at `destination`.
    case bind(source: URL, destination: String, readOnly: Bool)
    /// An empty tmpfs at `destination`; `sizeBytes` nil means the kernel's default (half of RAM).
    case tmpfs(destination: String, sizeBytes: Int? = nil)

    /// Absolute path inside the container.
    public var destination: String {
        switch self {
        case .bind(_, let destination, _), .tmpfs(let destination, _):
            return destination
        }
    }
}

/// One `/etc/hosts` line added for a step (`--add-host host:address`).
public struct HostEntry: Sendable, Equatable {
    /// The name.
    public var host: String
    /// The IPv4 or IPv6 address.
    public var address: String

    /// Creates an entry.
    public init(host: String, address: String) {
        self.host = host
        self.address = address
    }
}

/// Everything needed to run one `RUN` step.
public struct ExecutionStep: Sendable, Equatable {
    /// The prepared root filesystem; the step's changes land here.
    public var rootfs: URL
    /// The full argument vector, e.g. `["/bin/sh", "-c", "make"]` (the builder applies SHELL).
    public var arguments: [String]
    /// `KEY=value` pairs from ENV and build args. `PATH` and `HOME` are added when missing, as Docker does.
    public var environment: [String]
    /// Working directory inside the container (WORKDIR); it must already exist in the rootfs.
    public var workingDirectory: String
    /// The `USER` value (`name`, `uid`, `name:group`, `uid:gid`); empty means root.
    public var user: String
    /// Hostname inside the step.
    public var hostname: String
    /// Network isolation.
    public var network: NetworkMode
    /// The sandbox's strength.
    public var security: SecurityMode
    /// What the build was allowed (`--allow`). The executor refuses a step whose network or
    /// security needs an entitlement not in this set, whatever the builder checked before.
    public var entitlements: Set<Entitlement>
    /// Extra mounts, applied after the standard ones.
    public var mounts: [StepMount]
    /// Extra `/etc/hosts` entries (`--add-host`).
    public var extraHosts: [HostEntry]

    /// The entitlements this step needs beyond the default sandbox.
    public var requiredEntitlements: Set<Entitlement> {
        var needed: Set<Entitlement> = []
        if network == .host { needed.insert(.networkHost) }
        if security == .insecure { needed.insert(.securityInsecure) }
        return needed
    }

    /// Creates a step description.
    public init(rootfs: URL, arguments: [String], environment: [String] = [], workingDirectory: String = "/",
                user: String = "", hostname: String = "kiln", network: NetworkMode = .default,
                security: SecurityMode = .sandbox, entitlements: Set<Entitlement> = [],
                mounts: [StepMount] = [], extraHosts: [HostEntry] = []) {
        self.rootfs = rootfs
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.hostname = hostname
        self.network = network
        self.security = security
        self.entitlements = entitlements
        self.mounts = mounts
        self.extraHosts = extraHosts
    }
}
