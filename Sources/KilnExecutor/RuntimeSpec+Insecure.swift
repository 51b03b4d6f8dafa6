import Foundation
import Glibc

/// BuildKit's `RUN --security=insecure` (its `WithInsecureSpec` plus containerd's
/// `WithPrivileged`): what `docker run --privileged` gives, for steps that mount, load
/// modules or drive devices. Only reachable with the `security.insecure` entitlement.
extension RuntimeSpec {
    /// Every capability Kiln itself holds (its bounding set, as containerd's
    /// `WithAllCurrentCapabilities`): a runtime cannot grant more than it has (inside a
    /// container Kiln may lack some), and a name the kernel does not know makes it refuse the
    /// container.
    public static let allCapabilities: [String] = {
        let names = [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
            "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
            "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
        ]
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let bounding = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
            .flatMap { UInt64($0.dropFirst("CapBnd:".count).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        return names.indices.filter { bounding & (UInt64(1) << $0) != 0 }.map { names[$0] }
    }()

    /// The host's device nodes under `/dev` (not the per-container pts, shm, mqueue and fd
    /// entries, as containerd's `HostDevices`), with their modes and owners.
    public static func hostDevices() -> [Device] {
        let skipped: Set<String> = ["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd", "/dev/console", "/dev/.lxc", "/dev/.udev"]
        var devices: [Device] = []
        var pending = ["/dev"]
        while let directory = pending.popLast() {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let path = directory + "/" + name
                if skipped.contains(path) { continue }
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    pending.append(path)
                case S_IFCHR, S_IFBLK:
                    // glibc's major()/minor() are macros Swift does not import.
                    let rdev = UInt64(info.st_rdev)
                    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~UInt64(0xfff))
                    let minor = (rdev & 0xff) | ((rdev >> 12) & ~UInt64(0xff))
                    devices.append(Device(
                        path: path, type: (info.st_mode & S_IFMT) == S_IFCHR ? "c" : "b",
                        major: Int64(major), minor: Int64(minor),
                        fileMode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid))
                default:
                    continue
                }
            }
        }
        return devices
    }

    /// Turns a default spec into the insecure one: all capabilities, no masked or read-only
    /// paths, every device allowed and the host's nodes present, /sys and cgroupfs writable.
    /// Kiln never sets a seccomp or AppArmor profile, so there is none to remove.
    mutating func makeInsecure() {
        process.capabilities = Capabilities(Self.allCapabilities)
        linux.maskedPaths = []
        linux.readonlyPaths = []
        let defaults = Set(linux.devices.map(\.path))
        linux.devices += Self.hostDevices().filter { !defaults.contains($0.path) }
        linux.resources.devices = [DeviceRule(allow: true, access: "rwm")]
        for index in mounts.indices where ["/sys", "/sys/fs/cgroup"].contains(mounts[index].destination) {
            mounts[index].options = mounts[index].options.map { $0 == "ro" ? "rw" : $0 }
        }
    }
}
