import Foundation
import KilnTestSupport
import Testing

/// Errors that used to waste a build or say nothing: what a build needs is checked before
/// anything runs, a refused connection fails at once, input never reaches the terminal raw,
/// and every message names what it is about.
@Suite("kiln build: errors that say what happened, early", .serialized)
struct ErrorReportingTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    /// Builds `dockerfile` (written to a file of its own) with `flags`; the output defaults to a
    /// fresh OCI layout unless `flags` name one.
    func build(_ dockerfile: String, _ flags: [String] = [], output: [String]? = nil) throws -> (KilnBinary.Result, URL) {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let outputFlags = output ?? ["--output", "type=oci,dest=\(scratch("out").path)"]
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path, "--build-context", contextFlag] + flags + outputFlags + [harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
        return (result, file)
    }

    func scratch(_ name: String) -> URL {
        harness.directory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    }

    /// The cache entries the root holds: none may come from a build refused before it ran.
    var cacheEntries: [String] {
        let entries = harness.root.url.appendingPathComponent("cache/entries")
        return (try? FileManager.default.contentsOfDirectory(atPath: entries.path)) ?? []
    }

    @Test("a secret mounted required=true that was not given fails before any step runs, at its --mount flag")
    func missingRequiredSecret() throws {
        let (result, file) = try build("""
            FROM busybox
            RUN echo ran-early > /early
            RUN --mount=type=cache,target=/c --mount=type=secret,id=token,required=true cat /run/secrets/token
            """)
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(file.path):3:34"), "\(result.stderr)")
        #expect(result.stderr.contains("secret \"token\" is required"))
        #expect(result.stderr.contains("--secret id=token,src="))
        #expect(!result.stderr.contains("ran-early"), "an earlier step ran: \(result.stderr)")
        #expect(!result.stderr.contains("#2 "), "an earlier step started: \(result.stderr)")
        #expect(cacheEntries.isEmpty, "\(cacheEntries)")
    }

    @Test("a required secret that is given runs; one that is optional and missing is no error")
    func givenAndOptionalSecrets() throws {
        let secret = scratch("secret")
        try Data("s3cr3t".utf8).write(to: secret)
        let (given, _) = try build("FROM busybox\nRUN --mount=type=secret,id=token,required=true wc -c < /run/secrets/token\n",
                                   ["--secret", "id=token,src=\(secret.path)"])
        #expect(given.status == 0, "\(given.stderr)")
        #expect(!given.stderr.contains("s3cr3t"))
        let (optional, _) = try build("FROM busybox\nRUN --mount=type=secret,id=absent test ! -e /run/secrets/absent\n")
        #expect(optional.status == 0, "\(optional.stderr)")
    }

    @Test("--secret id=ID,env=VARIABLE takes the secret from kiln's environment; an unset variable fails before the build")
    func secretFromEnvironment() throws {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data("FROM busybox\nRUN --mount=type=secret,id=token,env=TOKEN --mount=type=secret,id=token,target=/t test \"$TOKEN\" = from-env && tr a-z A-Z < /t\n".utf8)
            .write(to: file)
        func run(_ environment: [String: String]) throws -> KilnBinary.Result {
            try KilnBinary.run(
                ["build", "--progress", "plain", "--no-cache", "-f", file.path, "--build-context", contextFlag,
                 "--secret", "id=token,env=KILN_TEST_TOKEN", "--output", "type=oci,dest=\(scratch("out").path)", harness.context.path],
                environment: environment.merging(["KILN_ROOT": harness.root.url.path]) { $1 })
        }
        let given = try run(["KILN_TEST_TOKEN": "from-env"])
        #expect(given.status == 0, "\(given.stderr)")
        #expect(given.stderr.contains("FROM-ENV"), "the file mount did not hold the value: \(given.stderr)")
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
        #expect(tmp.isEmpty, "the build left \(tmp) in tmp/")
        let unset = try run([:])
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("KILN_TEST_TOKEN is not set"), "\(unset.stderr)")
    }

    @Test("a binary secret mounted as env= fails before any step runs, naming the secret and the variable, never its bytes",
          arguments: [Data("MARKER\u{0}tail".utf8), Data([0x4D, 0x41, 0x52, 0x4B, 0x45, 0x52, 0xFF, 0xFE, 0x80])])
    func binaryEnvironmentSecret(bytes: Data) throws {
        let secret = scratch("secret")
        try bytes.write(to: secret)
        let (result, file) = try build("""
            FROM busybox
            RUN echo ran-early > /early
            RUN --mount=type=secret,id=blob,env=TOKEN echo "$TOKEN"
            """, ["--secret", "id=blob,src=\(secret.path)"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(file.path):3:5"), "\(result.stderr)")
        #expect(result.stderr.contains("secret \"blob\""))
        #expect(result.stderr.contains("TOKEN"))
        #expect(!result.stderr.contains("MARKER"), "the secret's bytes were shown: \(result.stderr)")
        #expect(!result.stderr.contains("ran-early"))
        #expect(!result.stderr.contains("Domain="), "a Foundation error: \(result.stderr)")
    }

    @Test("FROM a registry that refuses connections fails naming the image and the refusal, without retrying for a minute")
    func refusedConnection() throws {
        // A port that was just free: nothing listens there, so connections are refused.
        let port = try TestRegistry.freePort()
        let started = ContinuousClock.now
        let (result, _) = try build("FROM 127.0.0.1:\(port)/nothing/here:1\nRUN true\n")
        let elapsed = ContinuousClock.now - started
        print("refused connection: kiln build failed after \(elapsed)")
        #expect(result.status != 0)
        #expect(result.stderr.contains("127.0.0.1:\(port)/nothing/here:1"), "\(result.stderr)")
        #expect(result.stderr.contains("connection refused"), "\(result.stderr)")
        #expect(!result.stderr.contains("SingleConnectionFailure"), "\(result.stderr)")
    }

    @Test("control characters from a tag, a Dockerfile and a step's output are escaped in everything kiln prints",
          arguments: ["plain", "json"])
    func controlCharactersEscaped(progress: String) throws {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        // ESC ] 0 ; … BEL sets a terminal's title; ESC [ 2 J clears it; U+202E reverses text; 0x9B is CSI.
        try Data("FROM busybox\nRUN printf 'out\\033]0;title\\007\\302\\233x\\n' # \u{1B}[2J \u{202E}rev\n".utf8).write(to: file)
        let run = try KilnBinary.run(
            ["build", "--progress", progress, "-f", file.path, "--build-context", contextFlag,
             "--output", "type=oci,dest=\(scratch("out").path)", harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
        #expect(run.status == 0, "\(run.stderr)")
        for (name, text) in [("stderr", run.stderr), ("stdout", run.stdout)] {
            let raw = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E }
            #expect(raw.isEmpty, "\(name) holds raw control characters \(raw.map { String($0.value, radix: 16) })")
        }
        #expect(run.stderr.contains("out"))
        if progress == "plain" {
            #expect(run.stderr.contains("\\x1b[2J"), "\(run.stderr)")
            #expect(run.stderr.contains("\\x1b]0;title\\x07"), "\(run.stderr)")
        }

        let tagged = try KilnBinary.run(
            ["build", "--progress", "plain", "-t", "evil\u{1B}]0;pwned\u{07}:tag", "-f", file.path, "--build-context", contextFlag,
             harness.context.path], environment: ["KILN_ROOT": harness.root.url.path])
        #expect(tagged.status != 0)
        #expect(!tagged.stderr.contains("\u{1B}") && !tagged.stderr.contains("\u{07}"), "\(tagged.stderr)")
        #expect(tagged.stderr.contains("evil\\x1b]0;pwned\\x07:tag"), "\(tagged.stderr)")
    }

    @Test("a destination that cannot be written fails before the build, naming it",
          arguments: ["oci-on-file", "docker-on-directory", "under-a-file", "iidfile-on-directory", "metadata-under-a-file"])
    func unusableDestination(kind: String) throws {
        let file = scratch("file")
        try Data("x".utf8).write(to: file)
        let directory = scratch("dir")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (flags, named): ([String], String) = switch kind {
        case "oci-on-file": (["--output", "type=oci,dest=\(file.path)"], file.path)
        case "docker-on-directory": (["--output", "type=docker,dest=\(directory.path)"], directory.path)
        case "under-a-file": (["--output", "type=docker,dest=\(file.path)/image.tar"], file.path)
        case "iidfile-on-directory": (["--iidfile", directory.path], directory.path)
        default: (["--metadata-file", file.appendingPathComponent("meta.json").path], file.path)
        }
        let (result, _) = try build("FROM busybox\nRUN echo ran-early\n", flags, output: kind.hasPrefix("iid") || kind.hasPrefix("meta") ? nil : [])
        #expect(result.status != 0)
        #expect(result.stderr.contains(named), "\(result.stderr)")
        #expect(!result.stderr.contains("ran-early"), "the build ran first: \(result.stderr)")
        #expect(!result.stderr.contains("#1 "), "the build started: \(result.stderr)")
    }

    @Test("missing parent directories of every destination are created, as BuildKit does")
    func parentDirectoriesCreated() throws {
        let base = scratch("deep")
        let layout = base.appendingPathComponent("a/b/layout")
        let archive = base.appendingPathComponent("c/d/image.tar")
        let iid = base.appendingPathComponent("e/iid")
        let metadata = base.appendingPathComponent("f/g/metadata.json")
        let (result, _) = try build(
            "FROM busybox\nRUN echo hi > /hi\n", ["--iidfile", iid.path, "--metadata-file", metadata.path],
            output: ["--output", "type=oci,dest=\(layout.path)", "--output", "type=docker,dest=\(archive.path)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: layout.appendingPathComponent("index.json").path))
        #expect(FileManager.default.fileExists(atPath: archive.path))
        let id = try String(contentsOf: iid, encoding: .utf8)
        #expect(id.hasPrefix("sha256:"))
        #expect(FileManager.default.fileExists(atPath: metadata.path))
        // A reader no one here wrote accepts the layout.
        let inspect = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/skopeo"), ["inspect", "oci:\(layout.path)"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
    }
}
