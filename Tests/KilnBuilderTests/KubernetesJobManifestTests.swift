import Foundation
import KilnExecutor
import KilnTestSupport
import Testing

/// The Kubernetes Jobs in `deploy/kubernetes/`, one per isolation mode: valid YAML (read by
/// PyYAML), each a Job for the mode its name gives, naming the Pod Security Standard level it
/// needs, with the securityContext that mode takes and one command line for all.
@Suite("deploy/kubernetes: a Job per isolation mode")
struct KubernetesJobManifestTests {
    static let directory = Conformance.packageRoot.appendingPathComponent("deploy/kubernetes")

    /// The manifest of `mode`: its text and the document PyYAML reads, as JSON.
    static func manifest(_ mode: Isolation) throws -> (text: String, job: [String: Any]) {
        let file = directory.appendingPathComponent("job-\(mode.rawValue).yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let result = try ProcessRunner.checked(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", """
            import json, sys, yaml
            documents = list(yaml.safe_load_all(open(sys.argv[1])))
            assert len(documents) == 1, f"{len(documents)} documents"
            print(json.dumps(documents[0]))
            """, file.path])
        let job = try #require(try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any])
        return (text, job)
    }

    static func container(_ job: [String: Any]) throws -> [String: Any] {
        let spec = try #require(((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let containers = try #require(spec["containers"] as? [[String: Any]])
        return try #require(containers.first { $0["name"] as? String == "kiln" })
    }

    static func podSpec(_ job: [String: Any]) throws -> [String: Any] {
        try #require(((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
    }

    /// The Pod Security Standard level each mode needs, as the README gives it.
    static let levels: [Isolation: String] = [.root: "privileged", .rootless: "privileged", .usernsPod: "privileged", .chroot: "baseline"]

    @Test("every mode has a Job that is valid YAML, names its mode and its Pod Security Standard level, and runs the one command line",
          arguments: Isolation.allCases)
    func jobNamesItsMode(mode: Isolation) throws {
        let (text, job) = try Self.manifest(mode)
        #expect(job["kind"] as? String == "Job" && job["apiVersion"] as? String == "batch/v1")
        #expect(text.hasPrefix("# Kiln in a Kubernetes Job, isolation mode: \(mode.rawValue)\n"), "\(text.prefix(200))")
        let level = try #require(Self.levels[mode])
        #expect(text.contains("# Pod Security Standard level: \(level)"), "\(mode)")
        let labels = (job["metadata"] as? [String: Any])?["labels"] as? [String: String]
        #expect(labels?["kiln.dev/isolation"] == mode.rawValue)
        let container = try Self.container(job)
        let environment = (container["env"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) {
            $0[$1["name"] as? String ?? ""] = $1["value"] as? String
        }
        #expect(environment["KILN_ISOLATION"] == mode.rawValue)
        #expect(environment["KILN_ROOT"] != nil && environment["DOCKER_CONFIG"] != nil)
        // One command line for every mode: a build pushed to a registry, with a registry cache.
        let (_, rootJob) = try Self.manifest(.root)
        let arguments = container["args"] as? [String] ?? []
        #expect(arguments == (try Self.container(rootJob))["args"] as? [String])
        #expect(arguments.first == "build" && arguments.contains("--push") && arguments.contains { $0.hasPrefix("--cache-repo=") })
        // A Pod has no /dev/net/tun for the sandbox network: steps use the Pod's own network.
        #expect(arguments.contains("--network=host") && arguments.contains("--allow=network.host"))
        #expect(try Self.podSpec(job)["hostNetwork"] == nil)
    }

    @Test("each Job's securityContext is its mode's: privileged root, hostUsers false with Unconfined seccomp and AppArmor, a non-root user that may escalate through newuidmap, chroot's capabilities under RuntimeDefault")
    func securityContexts() throws {
        let root = try Self.container(try Self.manifest(.root).job)["securityContext"] as? [String: Any]
        #expect(root?["privileged"] as? Bool == true)

        let usernsJob = try Self.manifest(.usernsPod).job
        #expect(try Self.podSpec(usernsJob)["hostUsers"] as? Bool == false)
        let userns = try #require(try Self.container(usernsJob)["securityContext"] as? [String: Any])
        #expect((userns["seccompProfile"] as? [String: String])?["type"] == "Unconfined")
        #expect((userns["appArmorProfile"] as? [String: String])?["type"] == "Unconfined")
        #expect(userns["privileged"] == nil && userns["capabilities"] == nil, "userns-pod adds nothing else")

        let rootless = try #require(try Self.container(try Self.manifest(.rootless).job)["securityContext"] as? [String: Any])
        #expect((rootless["runAsUser"] as? Int ?? 0) != 0)
        #expect(rootless["allowPrivilegeEscalation"] as? Bool == true)
        #expect((rootless["seccompProfile"] as? [String: String])?["type"] == "Unconfined")

        let chroot = try #require(try Self.container(try Self.manifest(.chroot).job)["securityContext"] as? [String: Any])
        #expect((chroot["seccompProfile"] as? [String: String])?["type"] == "RuntimeDefault")
        #expect(chroot["privileged"] == nil && chroot["allowPrivilegeEscalation"] as? Bool != true)
        let capabilities = try #require(chroot["capabilities"] as? [String: [String]])
        #expect(capabilities["drop"] == ["ALL"])
        // Pod Security Standard baseline allows these and no others to be added.
        let baseline: Set<String> = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
        let added = Set(capabilities["add"] ?? [])
        #expect(added.isSubset(of: baseline), "beyond baseline: \(added.subtracting(baseline))")
        #expect(added.contains("SYS_CHROOT") && added.contains("MKNOD"))
    }

    /// The capabilities the chroot Job adds: the stand-in test runs the Kiln image with exactly these.
    static func chrootCapabilities() throws -> [String] {
        let chroot = try Self.container(try Self.manifest(.chroot).job)["securityContext"] as? [String: Any]
        return (chroot?["capabilities"] as? [String: [String]])?["add"] ?? []
    }
}
