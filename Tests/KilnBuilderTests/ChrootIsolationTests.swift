import Foundation
import Glibc
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// `kiln build --isolation chroot`: RUN chrooted into the step's rootfs with no namespace of its
    /// own (forced here, on a host where root could have namespaces), giving the image root gives,
    /// digest for digest; mounts and secrets placed and taken out again; the step without
    /// descriptors of Kiln's and without CAP_SYS_CHROOT.
    @Suite("kiln build: chroot isolation", .serialized,
           .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox"), "needs root and busybox"))
    struct ChrootIsolationTests {
        let harness: BuildHarness

        init() throws {
            harness = try BuildHarness()
        }

        /// Owners, a set-id bit, a hard link, a symbolic link, a whiteout, an opaque directory, an
        /// image /etc/hosts the step's generated one is placed over, a heredoc, a non-root step.
        static let dockerfile = """
            FROM busybox
            COPY hosts /etc/hosts
            RUN mkdir -p /app /old && echo hi > /app/a && ln /app/a /app/hard && ln -s a /app/link && chown 1000:1001 /app/a && \\
                chmod 4755 /app/a && touch /old/x /old/y && mkdir /home && chown 65534:65534 /home && grep -q localhost /etc/hosts
            RUN rm -rf /old && mkdir /old && touch /old/new && rm /app/hard && id -u > /app/uid && test -c /dev/null && echo x > /dev/null
            RUN <<EOF
            set -e
            echo heredoc > /app/heredoc
            chmod 2755 /app/heredoc
            EOF
            USER nobody
            RUN echo from-nobody > /tmp/n && id -u > /tmp/uid && ls /etc > /tmp/etc
            """

        func build(_ dockerfile: String, isolation: String, root: URL, extra: [String] = [], name: String) throws -> KilnBinary.Result {
            let file = harness.directory.appendingPathComponent("\(name).Dockerfile")
            try Data(dockerfile.utf8).write(to: file)
            return try KilnBinary.run(
                ["build", "--progress", "plain", "--isolation", isolation, "-f", file.path,
                 "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                 "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("\(name)-out").path)"]
                    + extra + [harness.context.path],
                environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": root.path])
        }

        static func digest(_ result: KilnBinary.Result) -> Substring? {
            result.stdout.split(separator: "\n").last { $0.hasPrefix("image sha256:") }
        }

        @Test("RUN steps chrooted give the image root isolation gives (same digest with SOURCE_DATE_EPOCH), and the mode is said once")
        func sameImageAsRoot() throws {
            try Data("10.1.2.3\timage-host\n".utf8).write(to: harness.context.appendingPathComponent("hosts"))
            let chroot = try build(Self.dockerfile, isolation: "chroot", root: harness.root.url, name: "chroot")
            #expect(chroot.status == 0, "\(chroot.stderr)")
            #expect(chroot.stderr.components(separatedBy: "isolation: chroot").count == 2, "\(chroot.stderr)")
            #expect(chroot.stderr.contains("/proc as far as it can be given"), "\(chroot.stderr)")
            // Runc's default network needs slirp4netns; the layers do not depend on the network.
            let root = try build(Self.dockerfile, isolation: "root", root: harness.directory.appendingPathComponent("root-b"),
                                 extra: ["--network", "none"], name: "root")
            #expect(root.status == 0, "\(root.stderr)")
            #expect(Self.digest(chroot) != nil && Self.digest(chroot) == Self.digest(root), "chroot: \(chroot.stdout) root: \(root.stdout)")
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
            #expect(leftovers.isEmpty, "left in tmp: \(leftovers)")
        }

        @Test("with only Docker's default capabilities (a pod's RuntimeDefault, here through setpriv): the image root gives, /proc an empty directory, said once")
        func dockerDefaultCapabilities() throws {
            try Data("10.1.2.3\timage-host\n".utf8).write(to: harness.context.appendingPathComponent("hosts"))
            let file = harness.directory.appendingPathComponent("pod.Dockerfile")
            try Data((Self.dockerfile + "\nRUN ls -A /proc | wc -l | sed 's/^/PROC-ENTRIES /'\n").utf8).write(to: file)
            let capabilities = "-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,"
                + "+sys_chroot,+mknod,+audit_write,+setfcap"
            let output = { (name: String) in "type=oci,dest=\(self.harness.directory.appendingPathComponent(name).path)" }
            let pod = try ProcessRunner.run(
                URL(fileURLWithPath: "/usr/bin/setpriv"),
                ["--bounding-set", capabilities, "--", KilnBinary.url.path, "build", "--progress", "plain", "--isolation", "chroot",
                 "-f", file.path, "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                 "--output", output("pod-out"), harness.context.path],
                environment: ["KILN_ROOT": harness.root.url.path, "SOURCE_DATE_EPOCH": "0"])
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.components(separatedBy: "/proc as far as it can be given: an empty directory").count == 2, "\(pod.stderr)")
            #expect(pod.stderr.contains("PROC-ENTRIES 0"), "\(pod.stderr)")
            let root = try KilnBinary.run(
                ["build", "--progress", "plain", "--isolation", "root", "--network", "none", "-f", file.path,
                 "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                 "--output", output("pod-root-out"), harness.context.path],
                environment: ["KILN_ROOT": harness.directory.appendingPathComponent("root-c").path, "SOURCE_DATE_EPOCH": "0"])
            #expect(root.status == 0, "\(root.stderr)")
            let digest = { (text: String) in text.split(separator: "\n").last { $0.hasPrefix("image sha256:") } }
            #expect(digest(pod.stdout) != nil && digest(pod.stdout) == digest(root.stdout), "pod: \(pod.stdout) root: \(root.stdout)")
        }

        @Test("with no_new_privs set (allowPrivilegeEscalation: false) RUN still works chrooted, and the start of the build says what it takes away")
        func noNewPrivileges() throws {
            let file = harness.directory.appendingPathComponent("nnp.Dockerfile")
            try Data("FROM busybox\nRUN grep NoNewPrivs /proc/self/status | tr -d '\\t' && echo made > /made\n".utf8).write(to: file)
            let result = try ProcessRunner.run(
                URL(fileURLWithPath: "/usr/bin/setpriv"),
                ["--no-new-privs", "--", KilnBinary.url.path, "build", "--progress", "plain", "--isolation", "chroot", "-f", file.path,
                 "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                 "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("nnp-out").path)", harness.context.path],
                environment: ["KILN_ROOT": harness.root.url.path])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("NoNewPrivs:1"), "\(result.stderr)")
            #expect(result.stderr.contains("no_new_privs is set, so set-id binaries of the image gain no privileges in RUN"), "\(result.stderr)")
        }

        @Test("secret, cache, bind, tmpfs and ssh mounts work chrooted; the secret's bytes reach no layer, config or cache, the cache's files persist")
        func secretAndCacheMounts() throws {
            let secret = harness.directory.appendingPathComponent("secret")
            let value = "chroot-secret-\(UUID().uuidString.lowercased())"
            try Data((value + "\n").utf8).write(to: secret)
            try Data("from-the-context\n".utf8).write(to: harness.context.appendingPathComponent("ctx-file"))
            let key = harness.directory.appendingPathComponent("id_ed25519")
            _ = try ProcessRunner.checked("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key.path])
            let first = try build("""
                FROM busybox
                RUN --mount=type=secret,id=s tr a-z A-Z < /run/secrets/s | sed 's/^/SEEN /'
                RUN --mount=type=cache,target=/c,id=kept echo one > /c/kept && stat -c 'CACHE %u' /c/kept
                RUN --mount=type=bind,target=/src sed 's/^/BOUND /' /src/ctx-file && \\
                    (echo x > /src/ctx-file 2>/dev/null; true)
                RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && stat -c 'TMPFS %a' /scratch
                RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo AGENT"-"THERE
                RUN test ! -e /c && test ! -e /run/secrets && test ! -e /src && test ! -e /scratch && test ! -e /run/buildkit && \\
                    echo MOUNTS"-"GONE
                """, isolation: "chroot", root: harness.root.url,
                extra: ["--secret", "id=s,src=\(secret.path)", "--ssh", "default=\(key.path)"], name: "mounts")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("SEEN " + value.uppercased()), "\(first.stderr)")
            #expect(first.stderr.contains("CACHE 0") && first.stderr.contains("MOUNTS-GONE"), "\(first.stderr)")
            #expect(first.stderr.contains("BOUND from-the-context") && first.stderr.contains("TMPFS 1777"), "\(first.stderr)")
            #expect(first.stderr.contains("AGENT-THERE"), "\(first.stderr)")
            #expect(try String(contentsOf: harness.context.appendingPathComponent("ctx-file"), encoding: .utf8) == "from-the-context\n")
            let second = try build("""
                FROM busybox
                RUN --mount=type=cache,target=/c,id=kept sed 's/^/CACHED /' /c/kept
                """, isolation: "chroot", root: harness.root.url, name: "mounts-again")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("CACHED one"), "\(second.stderr)")
            for directory in [harness.root.url, harness.directory.appendingPathComponent("mounts-out")] {
                let holders = try Self.files(in: directory, containing: Data(value.utf8))
                #expect(holders.isEmpty, "the secret is in \(holders)")
            }
        }

        @Test("the step gets no descriptor above 2, and cannot chroot its way out to a file of the host")
        func noDescriptorsNoEscape() throws {
            let marker = harness.directory.appendingPathComponent("host-marker")
            try Data("HOST-MARKER-CONTENT\n".utf8).write(to: marker)
            let source = harness.directory.appendingPathComponent("escape.c")
            try Data("""
                #include <errno.h>
                #include <stdio.h>
                #include <string.h>
                #include <sys/stat.h>
                #include <unistd.h>
                int main(int argc, char **argv) {
                    mkdir("/escape-dir", 0755);
                    if (chroot("/escape-dir") != 0) { printf("ESCAPE-REFUSED %s\\n", strerror(errno)); return 0; }
                    for (int i = 0; i < 256; i++) chdir("..");
                    if (chroot(".") != 0) { printf("ESCAPE-REFUSED at the second chroot\\n"); return 0; }
                    FILE *file = fopen(argv[1], "r");
                    char line[256] = "";
                    if (file && fgets(line, sizeof line, file)) printf("ESCAPED %s", line); else printf("ESCAPE-NO-MARKER\\n");
                    return 0;
                }
                """.utf8).write(to: source)
            _ = try ProcessRunner.checked("/usr/bin/gcc", ["-static", "-O1", "-o", harness.context.appendingPathComponent("escape").path, source.path])
            let result = try build("""
                FROM busybox
                COPY escape /escape
                RUN test -d /proc/self/fd || echo NO"-"PROC; i=3; while [ $i -lt 1024 ]; do [ -e /proc/self/fd/$i ] && echo "OPEN""-FD $i"; \\
                    i=$((i+1)); done; echo FD"-"CHECK-DONE
                RUN chroot / /bin/true 2>&1 || echo CHROOT"-"COMMAND-REFUSED; /escape \(marker.path)
                """, isolation: "chroot", root: harness.root.url, name: "escape")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("FD-CHECK-DONE") && !result.stderr.contains("NO-PROC"), "\(result.stderr)")
            #expect(!result.stderr.contains("OPEN-FD"), "\(result.stderr)")
            #expect(result.stderr.contains("ESCAPE-REFUSED Operation not permitted"), "\(result.stderr)")
            #expect(result.stderr.contains("CHROOT-COMMAND-REFUSED"), "\(result.stderr)")
            #expect(!result.stderr.contains("HOST-MARKER-CONTENT"), "\(result.stderr)")
        }

        @Test("what chroot isolation cannot honour is refused at its line before anything is pulled: RUN --network=none, a missing capability")
        func refusals() throws {
            let never = "FROM 127.0.0.1:1/never/pulled:1\nRUN true\nRUN --network=none true\n"
            let network = try build(never, isolation: "chroot", root: harness.root.url, name: "network-none")
            #expect(network.status != 0)
            #expect(network.stderr.contains(":3:") && network.stderr.contains("RUN --network=none cannot be honoured in chroot isolation"),
                    "\(network.stderr)")
            #expect(!network.stderr.contains("127.0.0.1:1/never/pulled:1:"), "nothing is pulled first: \(network.stderr)")

            // Without CAP_MKNOD in its bounding set, Kiln (root) has it neither effective.
            let file = harness.directory.appendingPathComponent("mknod.Dockerfile")
            try Data("FROM 127.0.0.1:1/never/pulled:1\nCOPY . /ctx\nRUN true\n".utf8).write(to: file)
            let withoutMknod = try ProcessRunner.run(
                URL(fileURLWithPath: "/usr/bin/setpriv"),
                ["--bounding-set", "-mknod", "--", KilnBinary.url.path, "build", "--progress", "plain", "--isolation", "chroot",
                 "-f", file.path, "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("mknod-out").path)",
                 harness.context.path],
                environment: ["KILN_ROOT": harness.root.url.path])
            #expect(withoutMknod.status != 0)
            #expect(withoutMknod.stderr.contains(":3:") && withoutMknod.stderr.contains("lacks CAP_MKNOD")
                        && withoutMknod.stderr.contains("builds without RUN still work"), "\(withoutMknod.stderr)")
        }

        /// The pids of processes whose command line is `sleep SECONDS`.
        static func sleepers(_ seconds: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { name in
                guard Int(name) != nil, let line = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(name)/cmdline")) else { return false }
                return String(decoding: line, as: UTF8.self).split(separator: "\0").suffix(2) == ["sleep", Substring(seconds)]
            }
        }

        @Test("what a step leaves running is killed when it ends: its session, and a process that started a session of its own")
        func leftoversKilled() throws {
            let result = try build("""
                FROM busybox
                RUN (sleep 3003 &); busybox setsid sleep 3004 & while ! grep -qs 'sleep.300[4]' /proc/*/cmdline; do sleep 0.1; done; \\
                    echo LEFT"-"RUNNING
                """, isolation: "chroot", root: harness.root.url, name: "leftovers")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("LEFT-RUNNING"), "\(result.stderr)")
            #expect(Self.sleepers("3003").isEmpty && Self.sleepers("3004").isEmpty, "still running: \(Self.sleepers("3003") + Self.sleepers("3004"))")
        }

        @Test("a cancelled build kills the chrooted step and leaves nothing in its scratch")
        func cancelled() throws {
            let process = try startBuild(sleeping: "3005")
            process.terminate()
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(Self.sleepers("3005").isEmpty, "still running: \(Self.sleepers("3005"))")
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
            #expect(leftovers.isEmpty, "left in tmp: \(leftovers)")
        }

        @Test("the chrooted step of a SIGKILLed build is killed by the next reclaim (kiln cache prune), and its scratch removed")
        func killedBuildReclaimed() throws {
            let process = try startBuild(sleeping: "3006")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(!Self.sleepers("3006").isEmpty, "the step outlives a SIGKILLed kiln until reclaimed")
            let prune = try KilnBinary.run(["cache", "prune"], environment: ["KILN_ROOT": harness.root.url.path])
            #expect(prune.status == 0, "\(prune.stderr)")
            #expect(Self.sleepers("3006").isEmpty, "still running: \(Self.sleepers("3006"))")
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
            #expect(leftovers.isEmpty, "left in tmp: \(leftovers)")
        }

        /// A chroot build whose RUN prints STARTED and sleeps `seconds`, running once STARTED was printed.
        func startBuild(sleeping seconds: String) throws -> Process {
            let file = harness.directory.appendingPathComponent("sleep-\(seconds).Dockerfile")
            try Data("FROM busybox\nRUN echo STAR\"\"TED; sleep \(seconds)\n".utf8).write(to: file)
            let log = harness.directory.appendingPathComponent("sleep-\(seconds).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = KilnBinary.url
            process.arguments = ["build", "--progress", "plain", "--isolation", "chroot", "-f", file.path,
                                 "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
                                 "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("sleep-\(seconds)-out").path)", harness.context.path]
            process.environment = ProcessInfo.processInfo.environment.merging(["KILN_ROOT": harness.root.url.path]) { $1 }
            let handle = try FileHandle(forWritingTo: log)
            process.standardError = handle
            process.standardOutput = handle
            try process.run()
            var started = false
            for _ in 0..<600 where !started {
                started = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("STARTED")
                if !started { usleep(100_000) }
            }
            #expect(started, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            return process
        }

        /// Files below `directory` whose bytes (gzip blobs decompressed) contain `needle`.
        static func files(in directory: URL, containing needle: Data) throws -> [String] {
            var holders: [String] = []
            guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                var data = (try? Data(contentsOf: url)) ?? Data()
                if data.starts(with: [0x1f, 0x8b]) {
                    data = (try? ProcessRunner.run(URL(fileURLWithPath: "/bin/gzip"), ["-dc", url.path]))?.stdoutData ?? data
                }
                if data.range(of: needle) != nil { holders.append(url.path) }
            }
            return holders
        }
    }
}
