import Foundation

/// How a RUN step reaches the network.
public enum NetworkMode: String, Sendable, Equatable, CaseIterable {
    /// Kiln's default. There is no daemon and no CNI to give each step a bridged network,
    /// so, like Kaniko and other rootless builders, a step shares the host's network
    /// namespace; package managers then see exactly the network the builder sees.
    case `default`
    /// The host's network namespace (`RUN --network=host`).
    case host
    /// A private network namespace holding only the loopback interface (`RUN --network=none`).
    case none

    /// Whether the step gets its own network namespace.
    var isolated: Bool { self == .none }
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
    /// Extra mounts, applied after the standard ones.
    public var mounts: [StepMount]
    /// Extra `/etc/hosts` entries (`--add-host`).
    public var extraHosts: [HostEntry]

    /// Creates a step description.
    public init(rootfs: URL, arguments: [String], environment: [String] = [], workingDirectory: String = "/",
                user: String = "", hostname: String = "kiln", network: NetworkMode = .default,
                mounts: [StepMount] = [], extraHosts: [HostEntry] = []) {
        self.rootfs = rootfs
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.hostname = hostname
        self.network = network
        self.mounts = mounts
        self.extraHosts = extraHosts
    }
}
