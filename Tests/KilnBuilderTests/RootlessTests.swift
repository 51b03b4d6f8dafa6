import Foundation
import KilnTestSupport
import Testing

/// `kiln build` as a non-root user: Kiln enters a user namespace of its own (the user's
/// subordinate ids through newuidmap), runs runc rootless and overlayfs with `userxattr`, and
/// the image is the one root builds, digest for digest.
@Suite("kiln build: rootless isolation", .serialized,
       .enabled(if: TestUser.isAvailable, "needs root (to add test users), unshare, newuidmap, setpriv and user namespaces"))
struct RootlessTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
        // The test user reads the context and the base from here.
        _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", harness.directory.path, harness.base.layout.path])
    }

    /// Owners, set-id bits, a hard link, a symbolic link, a whiteout and an opaque directory.
    static let dockerfile = """
        FROM busybox
        RUN mkdir -p /app /old && echo hi > /app/a && ln /app/a /app/hard && ln -s a /app/link && chown 1000:1001 /app/a && \\
            chmod 4755 /app/a && touch /old/x /old/y && mkdir /home && chown 65534:65534 /home
        RUN rm -rf /old && mkdir /old && touch /old/new && rm /app/hard && id -u > /app/uid
        """

    func arguments(output: URL) throws -> [String] {
        let file = harness.directory.appendingPathComponent("rootless.Dockerfile")
        try Data(Self.dockerfile.utf8).write(to: file)
        _ = try ProcessRunner.checked("/bin/chmod", ["a+r", file.path])
        // The default network needs /dev/net/tun, which many machines give root alone.
        return ["build", "--progress", "plain", "--network", "none", "-f", file.path,
                "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                "--output", "type=oci,dest=\(output.path)", harness.context.path]
    }

    @Test("a non-root user builds the image root builds (same digest with SOURCE_DATE_EPOCH), and is told the mode once")
    func sameImageAsRoot() throws {
        let user = try TestUser.withSubordinateIDs()
        let work = try user.directory("rootless")
        defer { try? FileManager.default.removeItem(at: work) }
        let rootless = try user.runKiln(try arguments(output: work.appendingPathComponent("out")),
                                        environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": work.appendingPathComponent("root").path],
                                        in: work)
        #expect(rootless.status == 0, "\(rootless.stderr)")
        #expect(rootless.stderr.components(separatedBy: "isolation: rootless (uid \(user.uid)").count == 2, "\(rootless.stderr)")

        let asRoot = try KilnBinary.run(try arguments(output: harness.directory.appendingPathComponent("root-out")),
                                        environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": harness.root.url.path])
        #expect(asRoot.status == 0, "\(asRoot.stderr)")
        #expect(asRoot.stderr.contains("isolation: root"), "\(asRoot.stderr)")
        let digest = { (result: KilnBinary.Result) in result.stdout.split(separator: "\n").last { $0.hasPrefix("image sha256:") } }
        #expect(digest(rootless) != nil && digest(rootless) == digest(asRoot), "rootless: \(rootless.stdout) root: \(asRoot.stdout)")
        // The user can remove what its builds made (owned by subordinate ids) with Kiln itself.
        let prune = try user.runKiln(["cache", "prune"], environment: ["KILN_ROOT": work.appendingPathComponent("root").path], in: work)
        #expect(prune.status == 0, "\(prune.stderr)")
    }

    @Test("--isolation root as a non-root user is refused; without subordinate ids the mapping is single-id, and says what it cannot represent")
    func refusalsAndSingleID() throws {
        let user = try TestUser.withSubordinateIDs()
        let work = try user.directory("refused")
        defer { try? FileManager.default.removeItem(at: work) }
        let refused = try user.runKiln(try arguments(output: work.appendingPathComponent("out")) + ["--isolation", "root"],
                                       environment: ["KILN_ROOT": work.appendingPathComponent("root").path], in: work)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--isolation root needs root; as uid \(user.uid) use --isolation rootless"), "\(refused.stderr)")

        let single = try TestUser.withoutSubordinateIDs()
        let singleWork = try single.directory("single")
        defer { try? FileManager.default.removeItem(at: singleWork) }
        let result = try single.runKiln(try arguments(output: singleWork.appendingPathComponent("out")),
                                        environment: ["KILN_ROOT": singleWork.appendingPathComponent("root").path], in: singleWork)
        #expect(result.stderr.contains("isolation: rootless with a single-id mapping"), "\(result.stderr)")
        // chown to an id the namespace does not have fails in the step, naming the command.
        #expect(result.status != 0)
        #expect(result.stderr.contains("chown"), "\(result.stderr)")
    }
}
