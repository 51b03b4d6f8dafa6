@testable import KilnExecutor
import Testing

/// `Isolation.decide`: which mode the facts of a machine give, and what each refusal names.
@Suite("isolation: the one decision")
struct IsolationDecisionTests {
    @Test("root without namespaces gets chroot only inside a container; on a host it is refused unless forced")
    func chrootOnlyInContainers() throws {
        let inPod = Isolation.Facts(euid: 0, canCreateNamespaces: false, containerEvidence: "/.dockerenv")
        #expect(try Isolation.decide(nil, facts: inPod) == .chroot)
        let onHost = Isolation.Facts(euid: 0, canCreateNamespaces: false)
        let refusal = #expect(throws: Isolation.Refusal.self) { try Isolation.decide(nil, facts: onHost) }
        #expect(refusal?.description.contains("not a container") == true && refusal?.description.contains("--isolation chroot") == true)
        #expect(try Isolation.decide(.chroot, facts: onHost) == .chroot)
        #expect(try Isolation.decide(nil, facts: Isolation.Facts(euid: 0, canCreateNamespaces: true)) == .root)
    }

    @Test("a user without user namespaces is refused, naming each host blocker and what to change")
    func blockersNamed() throws {
        let facts = Isolation.Facts(euid: 1000, canCreateNamespaces: false,
                                    userNamespaceBlockers: ["AppArmor refuses … sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"])
        let refusal = #expect(throws: Isolation.Refusal.self) { try Isolation.decide(nil, facts: facts) }
        #expect(refusal?.description.contains("apparmor_restrict_unprivileged_userns=0") == true)
        let forced = #expect(throws: Isolation.Refusal.self) { try Isolation.decide(.rootless, facts: facts) }
        #expect(forced?.description.contains("apparmor_restrict_unprivileged_userns=0") == true)
    }

    @Test("chroot RUN names the capabilities it lacks; no_new_privs alone does not refuse it")
    func chrootCapabilities() {
        var facts = Isolation.Facts(euid: 0, canCreateNamespaces: false, capabilities: Set(Isolation.Facts.chrootRunCapabilities))
        #expect(facts.chrootRunRefusal == nil)
        facts.noNewPrivileges = true
        #expect(facts.chrootRunRefusal == nil)
        facts.capabilities?.subtract([.setpcap, .mknod])
        let refusal = facts.chrootRunRefusal ?? ""
        #expect(refusal.contains("lacks CAP_SETPCAP, CAP_MKNOD") && refusal.contains("builds without RUN still work"), "\(refusal)")
        #expect(Isolation.chroot.summary(facts: facts).contains("set-id binaries of the image gain no privileges"))
    }
}

/// What counts as being in a container, for choosing chroot isolation only there.
@Suite("isolation: container evidence")
struct ContainerEvidenceTests {
    @Test("each engine's mark is evidence; a plain host has none", arguments: [
        ("/.dockerenv", nil, nil, nil, "/.dockerenv"),
        ("/run/.containerenv", nil, nil, nil, "/run/.containerenv"),
        (nil, "PATH=/bin\0container=podman\0", nil, nil, "container=podman (PID 1's environment)"),
        (nil, nil, "10.0.0.1", nil, "KUBERNETES_SERVICE_HOST"),
        (nil, nil, nil, "12:pids:/kubepods/burstable/pod1/abc\n", "kubepods in /proc/1/cgroup"),
        (nil, "PATH=/bin\0HOME=/root\0", nil, "0::/init.scope\n", nil),
    ] as [(String?, String?, String?, String?, String?)])
    func evidence(marker: String?, environ: String?, kubernetes: String?, cgroup: String?, expected: String?) {
        let found = ContainerEvidence.read(
            environment: kubernetes.map { ["KUBERNETES_SERVICE_HOST": $0] } ?? [:],
            file: { path in path == "/proc/1/environ" ? environ : path == "/proc/1/cgroup" ? cgroup : nil },
            exists: { $0 == marker })
        #expect(found == expected)
    }
}
