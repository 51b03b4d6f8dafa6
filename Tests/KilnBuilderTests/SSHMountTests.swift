import Foundation
import KilnTestSupport
import Testing

/// `RUN --mount=type=ssh` with `kiln build --ssh`: a real sshd on 127.0.0.1 serves a git
/// repository, cloned in a RUN step through the forwarded agent, as root and as a non-root
/// USER; nothing of the agent or the key reaches the image.
@Suite("kiln build: ssh agent forwarding", .serialized)
struct SSHMountTests {
    let harness: BuildHarness
    let server: TestSSHServer
    let base: BaseImages.BaseImage

    init() throws {
        harness = try BuildHarness()
        server = try TestSSHServer()
        base = try BaseImages.gitAndSSH()
    }

    /// Clones the test repository into /src and prints its README.
    var cloneCommand: String {
        "GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes' "
            + "git clone -q \(server.repositoryURL) /tmp/src && sed 's/^/readme: /' /tmp/src/README && rm -rf /tmp/src"
    }

    func build(_ dockerfile: String, _ flags: [String], environment: [String: String] = [:]) throws -> (KilnBinary.Result, URL) {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let layout = harness.directory.appendingPathComponent("out-\(UUID().uuidString)")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--no-cache", "-f", file.path,
             "--build-context", "gitssh=oci-layout://\(base.layout.path):\(base.refName)",
             "--network", "host", "--allow", "network.host", "--output", "type=oci,dest=\(layout.path)"] + flags + [harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"].merging(environment) { $1 })
        return (result, layout)
    }

    /// Every byte of every blob in `layout`, gunzipped where it is gzip, as text.
    func everything(in layout: URL) throws -> String {
        let script = """
            import gzip, os, sys
            out = []
            for root, _, files in os.walk(sys.argv[1]):
                for name in files:
                    data = open(os.path.join(root, name), 'rb').read()
                    if data[:2] == b'\\x1f\\x8b':
                        data = gzip.decompress(data)
                    out.append(data.decode('latin-1'))
            sys.stdout.write('\\n'.join(out))
            """
        return try ProcessRunner.checked("python3", ["-c", script, layout.path]).stdout
    }

    @Test("--ssh default=KEYFILE: a RUN step clones over ssh through its own agent socket; the key, the socket and the agent reach nothing in the image")
    func cloneWithKeyFile() throws {
        let (result, layout) = try build("""
            FROM gitssh
            RUN --mount=type=ssh \(cloneCommand) && echo "sock=$SSH_AUTH_SOCK" && touch /built
            RUN test ! -e /run/buildkit/ssh_agent.0 && test -z "$SSH_AUTH_SOCK" && echo no-agent-after
            """, ["--ssh", "default=\(server.clientKey.path)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("readme: \(server.readme)"), "\(result.stderr)")
        #expect(result.stderr.contains("sock=/run/buildkit/ssh_agent.0"), "\(result.stderr)")
        #expect(result.stderr.contains("no-agent-after"), "\(result.stderr)")
        let key = try String(contentsOf: server.clientKey, encoding: .utf8)
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key
        let image = try everything(in: layout)
        #expect(image.contains("built"), "the layout does not hold the step's layer")
        #expect(!image.contains(keyBody), "the private key reached the image")
        let entries = try ProcessRunner.checked("python3", ["-c", """
            import io, os, sys, tarfile
            for root, _, files in os.walk(sys.argv[1]):
                for name in files:
                    try:
                        with tarfile.open(os.path.join(root, name)) as tar:
                            print('\\n'.join(tar.getnames()))
                    except tarfile.ReadError:
                        pass
            """, layout.path]).stdout.split(separator: "\n")
        #expect(entries.contains("built"), "\(entries)")
        #expect(!entries.contains { $0.hasPrefix("run/buildkit") || $0.hasPrefix("tmp/src") }, "the agent socket reached a layer: \(entries)")
        #expect(!image.contains(server.clientKey.path), "the key's path reached the image")
        // No agent this build started is left running.
        let agents = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", "ssh-agent -D -a /tmp/kiln-ssh-"])
        #expect(agents.stdout.isEmpty, "ssh-agent still running: \(agents.stdout)")
    }

    @Test("--ssh default takes $SSH_AUTH_SOCK; a non-root USER can use the socket, which is its own")
    func agentSocketForNonRootUser() throws {
        let agentDirectory = harness.directory.appendingPathComponent("agent")
        try FileManager.default.createDirectory(at: agentDirectory, withIntermediateDirectories: true)
        let socket = agentDirectory.appendingPathComponent("s")
        let agent = try SpawnedDaemon(["/usr/bin/ssh-agent", "-D", "-a", socket.path], log: agentDirectory.appendingPathComponent("log"))
        defer { agent.stop() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket.path) { usleep(50_000) }
        let add = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["SSH_AUTH_SOCK=\(socket.path)", "ssh-add", "-q", server.clientKey.path])
        #expect(add.status == 0, "\(add.stderr)")
        let (result, _) = try build("""
            FROM gitssh
            USER app
            RUN --mount=type=ssh stat -c 'owner=%u:%g mode=%a' $SSH_AUTH_SOCK && \(cloneCommand)
            """, ["--ssh", "default"], environment: ["SSH_AUTH_SOCK": socket.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("owner=1000:1000 mode=600"), "\(result.stderr)")
        #expect(result.stderr.contains("readme: \(server.readme)"), "\(result.stderr)")
    }

    @Test("an ssh mount with required=true and no --ssh fails before anything runs; an optional one runs without an agent")
    func requiredAgentMissing() throws {
        let (missing, _) = try build("""
            FROM gitssh
            RUN echo ran-early > /early
            RUN --mount=type=ssh,id=deploy,required=true true
            """, [])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains(":3:5"), "\(missing.stderr)")
        #expect(missing.stderr.contains("ssh agent \"deploy\" is required"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("ran-early"))
        let (optional, _) = try build("FROM gitssh\nRUN --mount=type=ssh test -z \"$SSH_AUTH_SOCK\" && echo optional-ok\n", [])
        #expect(optional.status == 0, "\(optional.stderr)")
        #expect(optional.stderr.contains("optional-ok"))
    }
}
