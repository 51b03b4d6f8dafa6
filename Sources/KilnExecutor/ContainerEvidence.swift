import Foundation

/// What says the process runs inside a container, for choosing chroot isolation only there:
/// a marker file the engine leaves (`/.dockerenv` of Docker, `/run/.containerenv` of Podman
/// and CRI-O), the `container=` variable systemd's convention gives PID 1 (LXC, systemd-nspawn,
/// Podman), Kubernetes' service variable, or a container engine's name in PID 1's cgroup path
/// (cgroup v1, or v2 without a cgroup namespace).
enum ContainerEvidence {
    /// The first piece of evidence found, as a short phrase; nil when there is none.
    static func read(environment: [String: String] = ProcessInfo.processInfo.environment,
                     file: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) },
                     exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String? {
        for marker in ["/.dockerenv", "/run/.containerenv"] where exists(marker) { return marker }
        if let environ = file("/proc/1/environ"),
           let variable = environ.split(separator: "\0").first(where: { $0.hasPrefix("container=") }) {
            return String(variable) + " (PID 1's environment)"
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return "KUBERNETES_SERVICE_HOST" }
        if let cgroup = file("/proc/1/cgroup"),
           let engine = ["kubepods", "docker", "containerd", "libpod", "crio", "lxc"].first(where: { cgroup.contains($0) }) {
            return "\(engine) in /proc/1/cgroup"
        }
        return nil
    }
}
