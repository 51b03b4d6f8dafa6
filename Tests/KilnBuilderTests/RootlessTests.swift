import Foundation
import KilnTestSupport
import Testing

extension IsolationSuites {
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

        @Test("the second start replays the recorded entry (no re-execution) and builds the same image; a record others could write is ignored")
        func recordedEntryIsReplayed() throws {
            let user = try TestUser.withSubordinateIDs()
            let work = try user.directory("replay")
            defer { try? FileManager.default.removeItem(at: work) }
            let environment = ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": work.appendingPathComponent("root").path, "XDG_RUNTIME_DIR": work.path]
            let replayed = "entered before start as recorded earlier in this boot"
            let digest = { (result: KilnBinary.Result) in result.stdout.split(separator: "\n").last { $0.hasPrefix("image sha256:") } }
            func build(_ name: String, _ extra: [String] = []) throws -> KilnBinary.Result {
                let result = try user.runKiln(try arguments(output: work.appendingPathComponent(name)) + extra + ["--no-cache"],
                                              environment: environment, in: work)
                #expect(result.status == 0, "\(result.stderr)")
                return result
            }
            let first = try build("first")
            #expect(!first.stderr.contains(replayed), "\(first.stderr)")
            let record = work.appendingPathComponent("kiln-entry")
            let text = try String(contentsOf: record, encoding: .utf8)
            #expect(text.contains("uidmap 0 \(user.uid) 1 1 "), "\(text)")
            let attributes = try FileManager.default.attributesOfItem(atPath: record.path)
            #expect((attributes[.ownerAccountID] as? Int) == Int(user.uid))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)

            let second = try build("second")
            #expect(second.stderr.contains("isolation: rootless (uid \(user.uid)"), "\(second.stderr)")
            #expect(second.stderr.contains(replayed), "\(second.stderr)")
            #expect(digest(second) != nil && digest(second) == digest(first))
            // Asking for the recorded mode by name replays too; asking for another is decided anew.
            #expect(try build("named", ["--isolation", "rootless"]).stderr.contains(replayed))

            // A record that others could have written is not used (and is written afresh).
            _ = try ProcessRunner.checked("/bin/chmod", ["666", record.path])
            let ignored = try build("third")
            #expect(!ignored.stderr.contains(replayed), "\(ignored.stderr)")
            #expect(digest(ignored) == digest(first))
            let rewritten = try FileManager.default.attributesOfItem(atPath: record.path)
            #expect((rewritten[.posixPermissions] as? Int) == 0o600)
        }

        @Test("the runtime probe's record is shared by the user's Kiln roots, in a directory only the user may write")
        func runtimeProbesAreSharedByTheUsersRoots() throws {
            let user = try TestUser.withSubordinateIDs()
            let work = try user.directory("probes")
            defer { try? FileManager.default.removeItem(at: work) }
            func build(root: String, runtimeDirectory: URL) throws {
                let result = try user.runKiln(try arguments(output: work.appendingPathComponent("out-\(root)")) + ["--no-cache"],
                                              environment: ["KILN_ROOT": work.appendingPathComponent(root).path,
                                                            "XDG_RUNTIME_DIR": runtimeDirectory.path], in: work)
                #expect(result.status == 0, "\(result.stderr)")
            }
            let runtime = try user.directory("probes-runtime")
            defer { try? FileManager.default.removeItem(at: runtime) }
            let records = runtime.appendingPathComponent("kiln/runtime-probes")
            func stamps() throws -> [String: Date] {
                var stamps: [String: Date] = [:]
                for name in try FileManager.default.contentsOfDirectory(atPath: records.path) {
                    stamps[name] = try FileManager.default.attributesOfItem(atPath: records.appendingPathComponent(name).path)[.modificationDate] as? Date
                }
                return stamps
            }
            try build(root: "root-a", runtimeDirectory: runtime)
            let first = try stamps()
            #expect(!first.isEmpty)
            // A new root: the runtime is not probed again (the record is not written anew), and
            // nothing is recorded in the root.
            try build(root: "root-b", runtimeDirectory: runtime)
            #expect(try stamps() == first)
            #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("root-b/runtime-probes").path))

            // A runtime directory others may write is not used: the records go to the user's own.
            _ = try ProcessRunner.checked("/bin/chmod", ["777", runtime.path])
            try FileManager.default.removeItem(at: runtime.appendingPathComponent("kiln"))
            try build(root: "root-c", runtimeDirectory: runtime)
            #expect(!FileManager.default.fileExists(atPath: runtime.appendingPathComponent("kiln").path))
            let own = try FileManager.default.attributesOfItem(atPath: "/tmp/kiln-\(user.uid)")
            #expect((own[.ownerAccountID] as? Int) == Int(user.uid))
            #expect(((own[.posixPermissions] as? Int) ?? 0o777) & 0o022 == 0)
            #expect(try !FileManager.default.contentsOfDirectory(atPath: "/tmp/kiln-\(user.uid)/runtime-probes").isEmpty)
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

        @Test("secrets, cache mounts and a forwarded ssh agent work rootless; the secret reaches no layer")
        func mountsWorkRootless() throws {
            let user = try TestUser.withSubordinateIDs()
            let work = try user.directory("mounts")
            defer { try? FileManager.default.removeItem(at: work) }
            let secret = work.appendingPathComponent("secret")
            try Data("rootless-secret-value\n".utf8).write(to: secret)
            let key = work.appendingPathComponent("id_ed25519")
            _ = try ProcessRunner.checked("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key.path])
            _ = try ProcessRunner.checked("/bin/chown", ["-R", "\(user.uid):\(user.gid)", work.path])
            let file = harness.directory.appendingPathComponent("mounts.Dockerfile")
            try Data("""
                FROM busybox
                RUN --mount=type=secret,id=s sed 's/^/SEEN /' /run/secrets/s
                RUN --mount=type=cache,target=/c,uid=1000,gid=1000 touch /c/f && stat -c 'CACHE %u:%g' /c/f /c
                RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo AGENT-THERE
                """.utf8).write(to: file)
            _ = try ProcessRunner.checked("/bin/chmod", ["a+r", file.path])
            let output = work.appendingPathComponent("out")
            let result = try user.runKiln(
                ["build", "--progress", "plain", "--network", "none", "-f", file.path, "--secret", "id=s,src=\(secret.path)",
                 "--ssh", "default=\(key.path)",
                 "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                 "--output", "type=oci,dest=\(output.path)", harness.context.path],
                environment: ["KILN_ROOT": work.appendingPathComponent("root").path], in: work)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("SEEN rootless-secret-value"), "\(result.stderr)")
            #expect(result.stderr.contains("CACHE 0:0") && result.stderr.contains("CACHE 1000:1000"), "\(result.stderr)")
            #expect(result.stderr.contains("AGENT-THERE"), "\(result.stderr)")
            let blobs = output.appendingPathComponent("blobs/sha256")
            for name in try FileManager.default.contentsOfDirectory(atPath: blobs.path) {
                let listing = try ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "tar -xzOf '\(blobs.path)/\(name)' 2>/dev/null || cat '\(blobs.path)/\(name)'"])
                #expect(!listing.stdout.contains("rootless-secret-value"), "blob \(name) holds the secret")
            }
        }

        @Test("a base layer with a device node builds rootless: the step's tree goes without the node, the image keeps the layer byte for byte")
        func deviceNodesInBase() throws {
            let rootfs = harness.directory.appendingPathComponent("device-rootfs")
            _ = try ProcessRunner.checked("/bin/cp", ["-a", harness.base.rootfs.path, rootfs.path])
            try FileManager.default.createDirectory(at: rootfs.appendingPathComponent("devices"), withIntermediateDirectories: true)
            _ = try ProcessRunner.checked("/bin/mknod", [rootfs.appendingPathComponent("devices/null").path, "c", "1", "3"])
            let layout = harness.directory.appendingPathComponent("device-layout")
            let imported = try KilnBinary.run(["import", rootfs.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "dev:1"],
                                              environment: ["KILN_ROOT": harness.root.url.path])
            #expect(imported.status == 0, "\(imported.stderr)")
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", layout.path])
            let file = harness.directory.appendingPathComponent("device.Dockerfile")
            try Data("FROM dev\nRUN test ! -e /devices/null && echo NODE-ABSENT && echo x > /made\n".utf8).write(to: file)
            _ = try ProcessRunner.checked("/bin/chmod", ["a+r", file.path])
            let user = try TestUser.withSubordinateIDs()
            let work = try user.directory("devices")
            defer { try? FileManager.default.removeItem(at: work) }
            let output = work.appendingPathComponent("out")
            let result = try user.runKiln(
                ["build", "--progress", "plain", "--network", "none", "-f", file.path,
                 "--build-context", "dev=oci-layout://\(layout.path):1", "--output", "type=oci,dest=\(output.path)", harness.context.path],
                environment: ["KILN_ROOT": work.appendingPathComponent("root").path], in: work)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("NODE-ABSENT"), "\(result.stderr)")
            let baseLayers = try OCILayoutSummary(layout: layout).layers
            let builtLayers = try OCILayoutSummary(layout: output).layers
            #expect(builtLayers.count == baseLayers.count + 1 && Array(builtLayers.prefix(baseLayers.count)) == baseLayers)
        }

        @Test("where no namespace can be made (forced here with --isolation chroot): a build without RUN works, RUN runs chrooted, and RUN --network=none is refused at its line before anything is pulled")
        func chrootRunsRun() throws {
            let file = harness.directory.appendingPathComponent("chroot.Dockerfile")
            try Data("FROM busybox\nCOPY . /ctx\n".utf8).write(to: file)
            try Data("x".utf8).write(to: harness.context.appendingPathComponent("x"))
            let base = ["build", "--progress", "plain", "--isolation", "chroot", "-f", file.path,
                        "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                        "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("chroot-out").path)", harness.context.path]
            let copyOnly = try KilnBinary.run(base, environment: ["KILN_ROOT": harness.root.url.path])
            #expect(copyOnly.status == 0, "\(copyOnly.stderr)")
            #expect(copyOnly.stderr.contains("isolation: chroot"), "\(copyOnly.stderr)")

            try Data("FROM busybox\nCOPY . /ctx\nRUN cat /ctx/x | sed 's/^/CHROOTED-RUN /'\n".utf8).write(to: file)
            let withRun = try KilnBinary.run(base, environment: ["KILN_ROOT": harness.root.url.path])
            #expect(withRun.status == 0, "\(withRun.stderr)")
            #expect(withRun.stderr.contains("CHROOTED-RUN x"), "\(withRun.stderr)")

            try Data("FROM 127.0.0.1:1/never/pulled:1\nCOPY . /ctx\nRUN --network=none true\n".utf8).write(to: file)
            let refused = try KilnBinary.run(base, environment: ["KILN_ROOT": harness.root.url.path])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(":3:") && refused.stderr.contains("RUN --network=none cannot be honoured"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("127.0.0.1:1/never/pulled:1:"), "nothing is pulled first: \(refused.stderr)")
        }
    }
}
