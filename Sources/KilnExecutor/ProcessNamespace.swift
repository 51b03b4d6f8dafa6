import Foundation
import KilnArchive

/// Whether RUN steps get a PID namespace of their own, decided once per process from what the
/// kernel allows here.
///
/// A new PID namespace needs a proc mount of its own, and the kernel refuses one when the
/// `/proc` Kiln sees has paths hidden under mounts its user namespace may not remove: Docker's
/// and Kubernetes' masked paths (`/proc/kcore`, `/proc/keys`, …) seen from the user namespace
/// Kiln enters inside a pod (`userns-pod` without `CAP_SYS_ADMIN`, `rootless` in a container).
/// There a step shares Kiln's PID namespace and gets Kiln's `/proc` bound recursively (the
/// pod's masks stay on it), as BuildKit's `--oci-worker-no-process-sandbox` does: the step can
/// see the pod's other processes, and nothing more of the node than the pod sees.
public enum ProcessNamespace: Sendable, Equatable {
    /// A new PID namespace with a fresh proc mount (Docker's spec).
    case own
    /// The PID namespace Kiln runs in, with its `/proc` bound into the step.
    case shared

    /// What this process's steps get: ``own`` in the host's user namespace (the kernel only
    /// refuses proc mounts in other user namespaces); in another, whatever a trial shows.
    public static var current: ProcessNamespace { decided }

    private static let decided: ProcessNamespace = UserNamespace.isNested && !freshProcMountWorksHere() ? .shared : .own

    /// ``freshProcMountWorks()``, tried once per boot and process standing: a trial that worked
    /// is remembered beside the runtime probes (``RuntimeProbeRecord``, the same key: binary,
    /// boot, user and namespace maps, capabilities, seccomp, cgroup), so a rootless build does not
    /// start a trial namespace every time. A failure is tried again.
    static func freshProcMountWorksHere(records: RuntimeProbeRecord = .standard) -> Bool {
        let unshare = URL(fileURLWithPath: "/usr/bin/unshare")
        let file = records.file(for: unshare)?.appendingPathExtension("fresh-proc-mount")
        if let file, records.worked(file) { return true }
        guard freshProcMountWorks() else { return false }
        if let file { records.recordWorked(unshare, in: file) }
        return true
    }

    /// Tries it: util-linux's `unshare` makes a PID and mount namespace, mounts proc there
    /// and runs `/bin/true`.
    static func freshProcMountWorks() -> Bool {
        let unshare = "/usr/bin/unshare"
        guard FileManager.default.isExecutableFile(atPath: unshare),
              let pid = try? ChildProcess.spawn([unshare, "--pid", "--fork", "--mount", "--mount-proc", "/bin/true"])
        else { return false }
        return ChildProcess.wait(pid) == 0
    }

    /// The line a build prints once when steps share the PID namespace.
    public static let sharedNotice = "RUN steps share Kiln's PID namespace and see its /proc and /sys (bound, with the container's masks): "
        + "/proc is masked here, so a new PID namespace cannot mount its own (as BuildKit's --oci-worker-no-process-sandbox)"

    /// The namespaces a step gets beside its network namespace.
    var stepNamespaces: [String] {
        self == .own ? ["pid", "ipc", "uts", "mount"] : ["ipc", "uts", "mount"]
    }

    /// Docker's default mounts as this choice needs them: with ``shared`` the fresh proc mount
    /// becomes Kiln's `/proc` bound recursively (its submounts, and so the masks over them, come
    /// along; a plain bind would uncover what they hide), with the same options. A fresh sysfs
    /// meets the same refusal (the container's `/sys/firmware` is masked too), so `/sys` is
    /// Kiln's, bound the same way and read-only as before.
    ///
    /// `hostNetworkFromUserNamespace`: the step joins Kiln's network namespace from a user
    /// namespace that may not own it (`--network host` in rootless or userns-pod); sysfs can only
    /// be mounted by the owner of the network namespace, so `/sys` is Kiln's, bound, there too.
    func mounts(from defaults: [RuntimeSpec.Mount], hostNetworkFromUserNamespace: Bool) -> [RuntimeSpec.Mount] {
        var bound: Set<String> = self == .shared ? ["proc", "sysfs"] : []
        if hostNetworkFromUserNamespace { bound.insert("sysfs") }
        return defaults.map { mount in
            bound.contains(mount.type)
                ? RuntimeSpec.Mount(destination: mount.destination, type: "bind", source: mount.destination, options: ["rbind"] + mount.options)
                : mount
        }
    }
}
