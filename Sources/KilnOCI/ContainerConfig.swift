import Foundation

/// The `config` section of an image config: defaults for containers run from the image.
///
/// Field names are Docker's (`User`, `Env`, ...), which the OCI spec adopted; `Healthcheck`,
/// `Shell` and `OnBuild` are Docker extensions that BuildKit and Docker also write into OCI configs.
/// Every field is omitted from JSON when nil or empty, as Docker and OCI writers do.
public struct ContainerConfig: Codable, Sendable, Hashable {
    /// `user`, `user:group`, `uid` or `uid:gid`.
    public var user: String?
    /// Ports as `port/protocol` (`8080/tcp`); JSON object with `{}` values.
    public var exposedPorts: Set<String>
    /// `KEY=value` entries.
    public var env: [String]
    /// The executable and its first arguments.
    public var entrypoint: [String]
    /// Default arguments (to the entrypoint, or the command when there is none).
    public var cmd: [String]
    /// Paths that are volumes; JSON object with `{}` values.
    public var volumes: Set<String>
    /// The working directory of the process.
    public var workingDir: String?
    /// Arbitrary metadata.
    public var labels: [String: String]
    /// The signal that stops the container (`SIGTERM`, `9`).
    public var stopSignal: String?
    /// Windows only: `cmd`/`entrypoint` are already escaped as one command line.
    public var argsEscaped: Bool
    /// Docker's container health check.
    public var healthcheck: Healthcheck?
    /// Docker's shell for the shell form of `RUN`, `CMD` and `ENTRYPOINT`.
    public var shell: [String]
    /// Docker's `ONBUILD` triggers, run when the image is used as a base.
    public var onBuild: [String]

    /// Creates a config.
    public init(
        user: String? = nil, exposedPorts: Set<String> = [], env: [String] = [], entrypoint: [String] = [],
        cmd: [String] = [], volumes: Set<String> = [], workingDir: String? = nil, labels: [String: String] = [:],
        stopSignal: String? = nil, argsEscaped: Bool = false, healthcheck: Healthcheck? = nil, shell: [String] = [],
        onBuild: [String] = []
    ) {
        self.user = user
        self.exposedPorts = exposedPorts
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.volumes = volumes
        self.workingDir = workingDir
        self.labels = labels
        self.stopSignal = stopSignal
        self.argsEscaped = argsEscaped
        self.healthcheck = healthcheck
        self.shell = shell
        self.onBuild = onBuild
    }

    /// Whether nothing is set, in which case the whole section is omitted.
    public var isEmpty: Bool { self == ContainerConfig() }

    private enum CodingKeys: String, CodingKey {
        case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
        case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped", healthcheck = "Healthcheck", shell = "Shell", onBuild = "OnBuild"
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        exposedPorts = try EmptyObject.decodeKeys(container, forKey: .exposedPorts)
        env = try container.decodeIfPresent([String].self, forKey: .env) ?? []
        entrypoint = try container.decodeIfPresent([String].self, forKey: .entrypoint) ?? []
        cmd = try container.decodeIfPresent([String].self, forKey: .cmd) ?? []
        volumes = try EmptyObject.decodeKeys(container, forKey: .volumes)
        workingDir = try container.decodeIfPresent(String.self, forKey: .workingDir)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        stopSignal = try container.decodeIfPresent(String.self, forKey: .stopSignal)
        argsEscaped = try container.decodeIfPresent(Bool.self, forKey: .argsEscaped) ?? false
        healthcheck = try container.decodeIfPresent(Healthcheck.self, forKey: .healthcheck)
        shell = try container.decodeIfPresent([String].self, forKey: .shell) ?? []
        onBuild = try container.decodeIfPresent([String].self, forKey: .onBuild) ?? []
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let user, !user.isEmpty { try container.encode(user, forKey: .user) }
        if !exposedPorts.isEmpty { try container.encode(EmptyObject.map(exposedPorts), forKey: .exposedPorts) }
        if !env.isEmpty { try container.encode(env, forKey: .env) }
        if !entrypoint.isEmpty { try container.encode(entrypoint, forKey: .entrypoint) }
        if !cmd.isEmpty { try container.encode(cmd, forKey: .cmd) }
        if !volumes.isEmpty { try container.encode(EmptyObject.map(volumes), forKey: .volumes) }
        if let workingDir, !workingDir.isEmpty { try container.encode(workingDir, forKey: .workingDir) }
        if !labels.isEmpty { try container.encode(labels, forKey: .labels) }
        if let stopSignal, !stopSignal.isEmpty { try container.encode(stopSignal, forKey: .stopSignal) }
        if argsEscaped { try container.encode(true, forKey: .argsEscaped) }
        if let healthcheck, !healthcheck.isEmpty { try container.encode(healthcheck, forKey: .healthcheck) }
        if !shell.isEmpty { try container.encode(shell, forKey: .shell) }
        if !onBuild.isEmpty { try container.encode(onBuild, forKey: .onBuild) }
    }

    /// Upstream's rule: each `Env` entry matches `^[^=]+=.*$` (a non-empty key, and a value
    /// without a newline since `.` does not match one).
    func validate() throws(ValidationError) {
        for (position, entry) in env.enumerated() {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex,
                  !entry[equals...].contains(where: { $0 == "\n" })
            else { throw ValidationError(field: "Env[\(position)]", reason: "\"\(entry)\" is not KEY=value") }
        }
    }
}

/// Docker's health check. Durations are JSON integers in nanoseconds, as Go's `time.Duration`.
public struct Healthcheck: Codable, Sendable, Hashable {
    /// `["NONE"]`, `["CMD", exe, args...]` or `["CMD-SHELL", command]`; empty inherits the base image's.
    public var test: [String]
    /// Time between checks.
    public var interval: Duration?
    /// Time a check may take.
    public var timeout: Duration?
    /// Start-up time during which failures do not count.
    public var startPeriod: Duration?
    /// Time between checks during the start period.
    public var startInterval: Duration?
    /// Consecutive failures that make the container unhealthy.
    public var retries: Int?

    /// Creates a health check.
    public init(test: [String], interval: Duration? = nil, timeout: Duration? = nil, startPeriod: Duration? = nil,
                startInterval: Duration? = nil, retries: Int? = nil) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }

    var isEmpty: Bool { self == Healthcheck(test: []) }

    private enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
        case startInterval = "StartInterval", retries = "Retries"
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        test = try container.decodeIfPresent([String].self, forKey: .test) ?? []
        func duration(_ key: CodingKeys) throws -> Duration? {
            try container.decodeIfPresent(Int64.self, forKey: key).map { Duration.nanoseconds($0) }
        }
        interval = try duration(.interval)
        timeout = try duration(.timeout)
        startPeriod = try duration(.startPeriod)
        startInterval = try duration(.startInterval)
        retries = try container.decodeIfPresent(Int.self, forKey: .retries)
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !test.isEmpty { try container.encode(test, forKey: .test) }
        func encode(_ duration: Duration?, _ key: CodingKeys) throws {
            guard let duration, duration != .zero else { return }
            try container.encode(Healthcheck.nanoseconds(duration), forKey: key)
        }
        try encode(interval, .interval)
        try encode(timeout, .timeout)
        try encode(startPeriod, .startPeriod)
        try encode(startInterval, .startInterval)
        if let retries, retries != 0 { try container.encode(retries, forKey: .retries) }
    }

    /// Whole nanoseconds of `duration`, the unit Docker stores.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The `{}` values of `ExposedPorts` and `Volumes`: Go's `map[string]struct{}`.
struct EmptyObject: Codable, Hashable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init() {}

    /// Accepts any JSON object (the schema's `mapStringObject`) and rejects everything else.
    init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: AnyKey.self)
    }

    func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: AnyKey.self)
    }

    /// The keys of an optional (or null) `{"key": {}, ...}` object.
    static func decodeKeys<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Set<String> {
        Set(try container.decodeIfPresent([String: EmptyObject].self, forKey: key)?.keys.map { $0 } ?? [])
    }

    static func map(_ keys: Set<String>) -> [String: EmptyObject] {
        Dictionary(uniqueKeysWithValues: keys.map { ($0, EmptyObject()) })
    }
}
