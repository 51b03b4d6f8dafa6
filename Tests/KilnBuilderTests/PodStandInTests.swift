import Foundation
import KilnExecutor
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// Kiln's own image (`scripts/kiln-image`, debug binary) run the way the Kubernetes Jobs in
    /// `deploy/kubernetes/` run it, with Debian's dockerd standing in for the cluster: one private
    /// daemon with `--userns-remap` (docker 20.10 has no per-container user namespace otherwise) for
    /// the whole suite, and one without for the rootless Job, the image loaded once into each. Each
    /// build inside is compared with the same build as root on the host: with `SOURCE_DATE_EPOCH`
    /// the image digest is the same.
    @Suite("Kiln's image in stand-in Pods (a private dockerd)", .serialized,
           .enabled(if: PrivateDockerDaemon.isAvailable, Comment(rawValue: PrivateDockerDaemon.unavailableReason)),
           .enabled(if: geteuid() == 0, "needs root: dockerd, and --userns-remap adds the dockremap user and its subordinate ids"),
           .enabled("dockerd with --userns-remap could not start here (its log is on standard error)") { await PodStandIn.starts() })
    struct PodStandInTests {
        /// What `docker run` adds for the userns-pod Job's securityContext (seccompProfile and
        /// appArmorProfile Unconfined); the daemon's remapping stands in for `hostUsers: false`.
        static let usernsPodFlags = ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]

        /// The chroot Job's securityContext: the host's user namespace, every capability dropped but
        /// the ones the Job adds (read from it), Docker's default seccomp profile.
        /// (On this daemon a `--userns=host` container sees the image's files owned by the remapped
        /// ids; Kiln reads its own files only, so chroot mode is unaffected.)
        static func chrootFlags() throws -> [String] {
            ["--userns=host", "--cap-drop=ALL"] + (try KubernetesJobManifestTests.chrootCapabilities()).flatMap { ["--cap-add", $0] }
        }

        /// The Jobs' network for RUN: the container's own (here loopback only), since a Pod has no
        /// /dev/net/tun for the sandbox network; in chroot isolation there is no network namespace
        /// anyway, and `--network none` cannot be honoured there.
        static let jobNetwork = ["--allow", "network.host", "--network", "host"]

        let work: URL
        let base: BaseImages.BaseImage

        init() throws {
            work = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-pod-standin-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: work.appendingPathComponent("context"), withIntermediateDirectories: true)
            base = try BaseImages.busybox()
            // A remapped container's root is an unprivileged uid on the host: it reads what others may.
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", work.path, base.layout.path])
        }

        /// Builds `dockerfile` in the Kiln image under `flags` (RUN's network: `network`), and as root
        /// on the host (`--network none`: the network is no part of the image); returns both results.
        func buildBothWays(_ dockerfile: String, flags: [String], network: [String] = ["--network", "none"],
                           in standIn: Task<PodStandIn, any Error> = PodStandIn.shared) async throws
            -> (pod: KilnBinary.Result, host: KilnBinary.Result) {
            let standIn = try await standIn.value
            let context = work.appendingPathComponent("context")
            try Data(dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
            try Data("context file\n".utf8).write(to: context.appendingPathComponent("x"))
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", context.path])
            let pod = try standIn.docker.docker(
                ["run", "--rm", "--network", "none", "-e", "SOURCE_DATE_EPOCH=0",
                 "-v", "\(base.layout.path):/base:ro", "-v", "\(context.path):/context:ro"] + flags
                + [standIn.image.tag, "build", "--progress", "plain"] + network
                + ["--build-context", "busybox=oci-layout:///base:\(base.refName)",
                   "--output", "type=oci,dest=/tmp/out", "/context"])
            let host = try KilnBinary.run(
                ["build", "--progress", "plain", "--network", "none",
                 "--build-context", "busybox=oci-layout://\(base.layout.path):\(base.refName)",
                 "--output", "type=oci,dest=\(work.appendingPathComponent("host-out").path)", context.path],
                environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": work.appendingPathComponent("host-root").path])
            return (pod, host)
        }

        static func imageDigest(_ result: KilnBinary.Result) -> Substring? {
            result.stdout.split(separator: "\n").last { $0.hasPrefix("image sha256:") }
        }

        @Test("userns-pod: in a container with a user namespace of its own (not the identity map), seccomp and AppArmor unconfined, RUN steps (on the Job's network) build root's image; /proc is masked there, so steps share the PID namespace and the log says so once")
        func usernsPod() async throws {
            defer { try? FileManager.default.removeItem(at: work) }
            let standIn = try await PodStandIn.shared.value
            // The image has no shell: Debian's static busybox, bound in, reads the map.
            let map = try standIn.docker.docker(["run", "--rm", "--network", "none", "-v", "/bin/busybox:/busybox:ro", "--entrypoint", "/busybox"]
                                                + Self.usernsPodFlags + [standIn.image.tag, "cat", "/proc/self/uid_map"])
            #expect(map.status == 0, "\(map.stderr)")
            let fields = map.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
            #expect(fields.count >= 3 && Array(fields.prefix(3)) != ["0", "0", "4294967295"], "identity map inside: \(map.stdout)")

            let (pod, host) = try await buildBothWays(RootlessTests.dockerfile, flags: Self.usernsPodFlags, network: Self.jobNetwork)
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.components(separatedBy: "isolation: userns-pod").count == 2, "\(pod.stderr)")
            #expect(pod.stderr.components(separatedBy: ProcessNamespace.sharedNotice).count == 2, "\(pod.stderr)")
            #expect(host.status == 0, "\(host.stderr)")
            #expect(Self.imageDigest(pod) != nil && Self.imageDigest(pod) == Self.imageDigest(host), "pod: \(pod.stdout) host: \(host.stdout)")

            // The set is minimal: Docker's default seccomp profile refuses the user namespace, and
            // Kiln is left with chroot (shown by a build without RUN).
            let (confined, _) = try await buildBothWays("FROM busybox\nCOPY x /x\n", flags: ["--security-opt", "apparmor=unconfined"])
            #expect(confined.status == 0, "\(confined.stderr)")
            #expect(confined.stderr.contains("isolation: chroot"), "\(confined.stderr)")
        }

        @Test("rootless: as uid 1000 with the rootless Job's securityContext (seccomp and AppArmor unconfined, SYS_ADMIN in the bounding set for newuidmap), RUN steps build root's image with the user's subordinate ids; /proc is masked, so steps share the PID namespace")
        func rootless() async throws {
            defer { try? FileManager.default.removeItem(at: work) }
            let flags = ["--user", "1000:1000", "--cap-add", "SYS_ADMIN", "-e", "KILN_ROOT=/tmp/kiln-root/kiln"] + Self.usernsPodFlags
            let (pod, host) = try await buildBothWays(RootlessTests.dockerfile, flags: flags, network: Self.jobNetwork, in: PodStandIn.plain)
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.contains("isolation: rootless (uid 1000 is root of a user namespace with 65536 subordinate uids"), "\(pod.stderr)")
            #expect(pod.stderr.components(separatedBy: ProcessNamespace.sharedNotice).count == 2, "\(pod.stderr)")
            #expect(host.status == 0, "\(host.stderr)")
            #expect(Self.imageDigest(pod) != nil && Self.imageDigest(pod) == Self.imageDigest(host), "pod: \(pod.stdout) host: \(host.stdout)")
        }

        @Test("chroot: under exactly the chroot Job's capabilities and Docker's default seccomp profile, a build without RUN gives root's image")
        func chrootWithoutRun() async throws {
            defer { try? FileManager.default.removeItem(at: work) }
            let (pod, host) = try await buildBothWays("FROM busybox\nCOPY . /ctx\nWORKDIR /ctx\n", flags: try Self.chrootFlags(), network: Self.jobNetwork)
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.contains("isolation: chroot"), "\(pod.stderr)")
            #expect(host.status == 0, "\(host.stderr)")
            #expect(Self.imageDigest(pod) != nil && Self.imageDigest(pod) == Self.imageDigest(host), "pod: \(pod.stdout) host: \(host.stdout)")
        }

        @Test("chroot: under exactly the chroot Job's capabilities and Docker's default seccomp profile, RUN steps build root's image")
        func chrootWithRun() async throws {
            defer { try? FileManager.default.removeItem(at: work) }
            let (pod, host) = try await buildBothWays(RootlessTests.dockerfile, flags: try Self.chrootFlags(), network: Self.jobNetwork)
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.contains("isolation: chroot"), "\(pod.stderr)")
            #expect(host.status == 0, "\(host.stderr)")
            #expect(Self.imageDigest(pod) != nil && Self.imageDigest(pod) == Self.imageDigest(host), "pod: \(pod.stdout) host: \(host.stdout)")
        }
    }
}
