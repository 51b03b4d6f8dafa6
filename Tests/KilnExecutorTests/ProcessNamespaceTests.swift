import Foundation
@testable import KilnExecutor
import Testing

/// Where `/proc` is masked (a Pod's user namespace), RUN steps share Kiln's PID namespace and get
/// its `/proc` bound; everywhere else Docker's spec. And root of a Pod's user namespace that may
/// only make a nested user namespace is `userns-pod`, not `chroot`.
@Suite("Process namespace of RUN steps, and userns-pod detection")
struct ProcessNamespaceTests {
    let step = ExecutionStep(rootfs: URL(fileURLWithPath: "/tmp/rootfs"), arguments: ["x"], network: .none)
    let user = ResolvedUser(uid: 0, gid: 0, home: "/root")

    @Test("a fresh proc mount that worked is recorded for this boot and standing, beside the runtime probes, and then trusted",
          .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func freshProcMountIsRecorded() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-proc-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = RuntimeProbeRecord(directory: directory)
        #expect(ProcessNamespace.freshProcMountWorksHere(records: records))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.count == 1 && names[0].hasSuffix(".fresh-proc-mount"), "\(names)")
        // The record is what the next process goes by.
        let file = try #require(records.file(for: URL(fileURLWithPath: "/usr/bin/unshare"))?.appendingPathExtension("fresh-proc-mount"))
        #expect(records.worked(file))
        #expect(ProcessNamespace.freshProcMountWorksHere(records: records))
    }

    @Test("own: a new PID namespace and a fresh proc mount, as Docker's spec")
    func own() {
        let spec = RuntimeSpec.forStep(step, user: user, etcFiles: [], processNamespace: .own)
        #expect(spec.linux.namespaces.map(\.type) == ["pid", "ipc", "uts", "mount", "network"])
        #expect(spec.mounts.first == RuntimeSpec.dockerDefaultMounts.first)
        #expect(spec.mounts.first?.type == "proc")
    }

    @Test("shared: no PID namespace; /proc and /sys are Kiln's, bound recursively with the same options (their masks come along); the rest unchanged")
    func shared() {
        let own = RuntimeSpec.forStep(step, user: user, etcFiles: [], processNamespace: .own)
        let spec = RuntimeSpec.forStep(step, user: user, etcFiles: [], processNamespace: .shared)
        #expect(spec.linux.namespaces.map(\.type) == ["ipc", "uts", "mount", "network"])
        let proc = spec.mounts.filter { $0.destination == "/proc" }
        #expect(proc == [RuntimeSpec.Mount(destination: "/proc", type: "bind", source: "/proc", options: ["rbind", "nosuid", "noexec", "nodev"])])
        let sys = spec.mounts.filter { $0.destination == "/sys" }
        #expect(sys == [RuntimeSpec.Mount(destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"])])
        #expect(spec.mounts.filter { !["/proc", "/sys"].contains($0.destination) } == own.mounts.filter { !["/proc", "/sys"].contains($0.destination) })
        #expect(spec.linux.maskedPaths == own.linux.maskedPaths && spec.linux.readonlyPaths == own.linux.readonlyPaths)
    }

    @Test("a host-network step from a user namespace gets Kiln's /sys bound (only the network namespace's owner may mount sysfs); from the host's, sysfs as Docker's",
          arguments: [ProcessNamespace.own, .shared])
    func hostNetworkSysfs(processNamespace: ProcessNamespace) {
        let hostStep = ExecutionStep(rootfs: URL(fileURLWithPath: "/tmp/rootfs"), arguments: ["x"], network: .host)
        let nested = RuntimeSpec.forStep(hostStep, user: user, etcFiles: [], processNamespace: processNamespace, inUserNamespace: true)
        #expect(nested.mounts.first { $0.destination == "/sys" }?.type == "bind")
        let host = RuntimeSpec.forStep(hostStep, user: user, etcFiles: [], processNamespace: .own, inUserNamespace: false)
        #expect(host.mounts.first { $0.destination == "/sys" } == RuntimeSpec.dockerDefaultMounts.first { $0.destination == "/sys" })
        let isolated = RuntimeSpec.forStep(step, user: user, etcFiles: [], processNamespace: .own, inUserNamespace: true)
        #expect(isolated.mounts.first { $0.destination == "/sys" }?.type == "sysfs")
    }

    @Test("root of a user namespace that may not make namespaces but may make a nested user namespace is userns-pod, as is one that may make them")
    func usernsPodDetection() throws {
        var facts = Isolation.Facts(euid: 0, inUserNamespace: true, canCreateNamespaces: false, subordinateIDs: nil)
        facts.canCreateNestedUserNamespace = true
        #expect(try Isolation.decide(nil, facts: facts) == .usernsPod)
        #expect(try Isolation.decide(.usernsPod, facts: facts) == .usernsPod)
        facts.canCreateNamespaces = true
        #expect(try Isolation.decide(nil, facts: facts) == .usernsPod)
        facts.inUserNamespace = false
        #expect(try Isolation.decide(nil, facts: facts) == .root)
    }
}
