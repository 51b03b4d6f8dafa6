import KilnDockerfile
import KilnOCI

/// The image config as a stage's instructions change it, with the one bit of state Docker
/// keeps beside it: whether this stage set CMD (an ENTRYPOINT then keeps it; otherwise an
/// ENTRYPOINT clears the CMD inherited from the base).
struct StageConfig: Sendable {
    /// The config so far.
    var image: ImageConfig
    /// Whether a CMD appeared in this stage.
    var cmdSetInStage = false

    /// The SHELL in effect (`/bin/sh -c` unless set).
    var shell: [String] { image.config.shell.isEmpty ? ["/bin/sh", "-c"] : image.config.shell }
    /// The WORKDIR in effect.
    var workingDirectory: String {
        guard let dir = image.config.workingDir, !dir.isEmpty else { return "/" }
        return dir
    }
    /// The USER in effect ("" is root).
    var user: String { image.config.user ?? "" }

    /// Applies what `instruction` does to the config; filesystem effects are the step loop's.
    mutating func apply(_ instruction: Instruction) throws(DockerfileError) {
        switch instruction {
        case .env(let env):
            for pair in env.variables {
                let prefix = pair.key + "="
                if let index = image.config.env.firstIndex(where: { $0.hasPrefix(prefix) }) {
                    image.config.env[index] = prefix + pair.value
                } else {
                    image.config.env.append(prefix + pair.value)
                }
            }
        case .label(let label):
            for pair in label.labels { image.config.labels[pair.key] = pair.value }
        case .maintainer(let maintainer):
            image.author = maintainer.maintainer
        case .cmd(let cmd):
            image.config.cmd = cmd.command.arguments(shell: shell)
            cmdSetInStage = true
        case .entrypoint(let entrypoint):
            image.config.entrypoint = entrypoint.entrypoint.arguments(shell: shell)
            if !cmdSetInStage { image.config.cmd = [] }
        case .expose(let expose):
            for port in try expose.exposedPorts() { image.config.exposedPorts.formUnion(port.configKeys) }
        case .volume(let volume):
            image.config.volumes.formUnion(volume.volumes)
        case .user(let user):
            image.config.user = user.user
        case .workdir(let workdir):
            image.config.workingDir = Self.resolve(workdir.path, against: workingDirectory)
        case .stopSignal(let signal):
            image.config.stopSignal = signal.signal
        case .healthcheck(let check):
            image.config.healthcheck = Healthcheck(
                test: check.test,
                interval: Self.duration(check.interval), timeout: Self.duration(check.timeout),
                startPeriod: Self.duration(check.startPeriod), startInterval: Self.duration(check.startInterval),
                retries: check.retries == 0 ? nil : check.retries)
        case .shell(let shell):
            image.config.shell = shell.shell
        case .onbuild(let onbuild):
            image.config.onBuild.append(onbuild.expression)
        case .run, .copy, .add, .arg, .from:
            break
        }
    }

    /// An absolute path for `path` as WORKDIR resolves it: relative to the current directory.
    static func resolve(_ path: String, against current: String) -> String {
        let joined = path.hasPrefix("/") ? path : (current.hasSuffix("/") ? current : current + "/") + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func duration(_ nanoseconds: Int64) -> Duration? {
        nanoseconds == 0 ? nil : .nanoseconds(nanoseconds)
    }
}
