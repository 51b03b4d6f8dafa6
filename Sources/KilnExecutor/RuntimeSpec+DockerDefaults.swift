import Glibc
import KilnArchive

/// Docker's defaults for a container, which a RUN step inherits (moby's default Linux spec).
extension RuntimeSpec {
    /// The capabilities Docker grants by default.
    public static let dockerDefaultCapabilities: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Paths hidden from the step because they leak host information or allow host changes.
    public static let dockerMaskedPaths: [String] = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    /// Paths the step may read but not write.
    public static let dockerReadonlyPaths: [String] = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    /// `docker run` containers end up with a 1048576 open-file limit (dockerd runs with
    /// `LimitNOFILE=infinity`); build tools such as some JVMs and bundlers rely on it. Inside
    /// a container or user namespace Kiln may not raise its own hard limit, and the runtime
    /// fails the step if asked to, so the limit is capped at what this process holds.
    public static let dockerDefaultRlimits: [Rlimit] = {
        let docker: UInt64 = 1_048_576
        var current = rlimit()
        let limit = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &current) == 0 ? min(docker, UInt64(current.rlim_max)) : docker
        return [Rlimit(type: "RLIMIT_NOFILE", hard: limit, soft: limit)]
    }()

    /// The device nodes every container gets.
    public static let dockerDefaultDevices: [Device] = [
        Device(path: "/dev/null", major: 1, minor: 3),
        Device(path: "/dev/zero", major: 1, minor: 5),
        Device(path: "/dev/full", major: 1, minor: 7),
        Device(path: "/dev/random", major: 1, minor: 8),
        Device(path: "/dev/urandom", major: 1, minor: 9),
        Device(path: "/dev/tty", major: 5, minor: 0),
    ]

    /// The device cgroup: deny everything, then allow the default nodes, ptys and mknod.
    public static let dockerDeviceRules: [DeviceRule] = [
        DeviceRule(allow: false, access: "rwm"),
        DeviceRule(allow: true, type: "c", access: "m"),
        DeviceRule(allow: true, type: "b", access: "m"),
    ] + dockerDefaultDevices.map {
        DeviceRule(allow: true, type: $0.type, major: $0.major, minor: $0.minor, access: "rwm")
    } + [
        DeviceRule(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),  // /dev/ptmx
        DeviceRule(allow: true, type: "c", major: 136, access: "rwm"),  // /dev/pts/*
    ]

    /// The filesystems every container gets: proc, a tmpfs /dev with pts, shm and mqueue,
    /// and read-only sysfs and cgroup views.
    public static let dockerDefaultMounts: [Mount] = [
        Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev", type: "tmpfs", source: "tmpfs",
              options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
              options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        Mount(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
              options: ["ro", "nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev/shm", type: "tmpfs", source: "shm",
              options: ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]),
    ]

    /// The PATH Docker puts in a container's environment when the image sets none.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The specification for one step: Docker's defaults plus the step's process, user,
    /// network, generated /etc files and extra mounts; with `--security=insecure`, BuildKit's
    /// insecure sandbox instead of Docker's defaults. `networkNamespace` is the sandbox
    /// network's namespace file for ``NetworkMode/default``. `processNamespace` says whether the
    /// step gets a PID namespace and proc mount of its own (``ProcessNamespace/current``: not
    /// where `/proc` is masked); `inUserNamespace`, whether Kiln runs in a user namespace other
    /// than the host's (a host-network step then gets Kiln's `/sys` bound).
    public static func forStep(_ step: ExecutionStep, user: ResolvedUser, etcFiles: [Mount],
                               networkNamespace: String? = nil,
                               processNamespace: ProcessNamespace = .current,
                               inUserNamespace: Bool = UserNamespace.isNested) -> RuntimeSpec {
        var environment = step.environment
        let names = Set(environment.map(ExecutionStep.variableName))
        if !names.contains("PATH") { environment.append("PATH=\(defaultPath)") }
        if !names.contains("HOME") { environment.append("HOME=\(user.home)") }

        var namespaces = processNamespace.stepNamespaces.map { Namespace(type: $0) }
        if step.network.isolated { namespaces.append(Namespace(type: "network", path: networkNamespace)) }
        var capabilities = dockerDefaultCapabilities
        var sysctl: [String: String]?
        if step.network == .default {
            // With CAP_NET_RAW a step could write raw frames to slirp4netns's tap device and skip
            // the route that keeps it off link-local addresses. ping still works without it:
            // unprivileged ICMP sockets, which Docker also allows for every group since 20.10.
            capabilities.removeAll { $0 == "CAP_NET_RAW" }
            sysctl = ["net.ipv4.ping_group_range": "0 2147483647"]
        }

        let process = Process(
            user: User(uid: user.uid, gid: user.gid,
                       additionalGids: user.additionalGids.isEmpty ? nil : user.additionalGids),
            args: step.arguments,
            env: environment,
            cwd: step.workingDirectory,
            capabilities: Capabilities(capabilities),
            rlimits: dockerDefaultRlimits)
        var spec = RuntimeSpec(
            process: process,
            root: Root(path: step.rootfs.standardizedFileURL.path),
            hostname: step.hostname,
            mounts: processNamespace.mounts(from: dockerDefaultMounts, hostNetworkFromUserNamespace: inUserNamespace && step.network == .host)
                + etcFiles + step.mounts.map(\.runtimeMount),
            linux: Linux(
                namespaces: namespaces,
                devices: dockerDefaultDevices,
                resources: Resources(devices: dockerDeviceRules),
                maskedPaths: dockerMaskedPaths,
                readonlyPaths: dockerReadonlyPaths,
                sysctl: sysctl))
        if step.security == .insecure { spec.makeInsecure() }
        return spec
    }
}

extension StepMount {
    /// The runtime-spec form of this mount.
    var runtimeMount: RuntimeSpec.Mount {
        switch self {
        case .bind(let source, let destination, let readOnly):
            return RuntimeSpec.Mount(destination: destination, type: "bind", source: source.standardizedFileURL.path,
                                     options: ["rbind", "rprivate", readOnly ? "ro" : "rw"])
        case .tmpfs(let destination, let sizeBytes):
            var options = ["nosuid", "nodev", "mode=1777"]
            if let sizeBytes { options.append("size=\(sizeBytes)") }
            return RuntimeSpec.Mount(destination: destination, type: "tmpfs", source: "tmpfs", options: options)
        }
    }
}
