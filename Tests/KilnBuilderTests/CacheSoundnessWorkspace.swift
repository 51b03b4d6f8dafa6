import Foundation
import KilnTestSupport
import Testing

/// One soundness case's folder — its build context, files outside the context (secrets, a
/// base layout of its own), Kiln roots and outputs — and the state a mutation edits: the
/// Dockerfile text, the `kiln build` flags and the environment. Removed by ``close()``.
///
/// Dockerfile text and flags may hold placeholders, replaced just before each build:
/// `@WS@` (this folder), `@BUSYBOX@` (the shared busybox layout), `@ALT@` (a busybox layout
/// with another `/etc/passwd` and digest, see ``SoundnessBases``), `@HTTP@` (the file
/// server's base URL, when the case asked for one).
final class SoundnessWorkspace: @unchecked Sendable {
    let directory: URL
    let context: URL
    /// The Dockerfile, kept outside the context (`-f`) so that editing it changes no context file.
    var dockerfile: String
    /// `kiln build` flags after the ones every build gets.
    var flags: [String]
    /// Environment given to `kiln`, besides `KILN_ROOT`.
    var environment: [String: String] = ["SOURCE_DATE_EPOCH": SoundnessWorkspace.epoch]
    /// When set, `kiln` runs under this umask (octal text).
    var umask: String?
    /// The HTTP file server of cases that ADD a URL.
    private(set) var http: TestRegistryPythonServer?

    /// The fixed SOURCE_DATE_EPOCH of every build (unless a case changes it): files written
    /// now are clamped to it, so two builds of the same inputs give the same bytes.
    static let epoch = "1700000000"

    init(name: String, dockerfile: String, flags: [String]) throws {
        let safe = name.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-soundness-\(String(safe.prefix(40)))-\(UUID().uuidString.prefix(8))")
        context = directory.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        self.dockerfile = dockerfile
        self.flags = flags
    }

    /// Stops the file server and removes the folder.
    func close() async {
        await http?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A Kiln root in this folder (created by the first build that uses it).
    func root(_ name: String) -> String { directory.appendingPathComponent("root-\(name)").path }

    // MARK: Mutations

    /// Replaces the one occurrence of `old` in the Dockerfile; a case whose edit does not
    /// apply is the test's own mistake, so it throws.
    func edit(_ old: String, _ new: String) throws {
        guard dockerfile.components(separatedBy: old).count == 2 else {
            throw SoundnessError("the Dockerfile holds \"\(old)\" not exactly once:\n\(dockerfile)")
        }
        dockerfile = dockerfile.replacingOccurrences(of: old, with: new)
    }

    /// Replaces the flag `old` with `new`.
    func replaceFlag(_ old: String, _ new: String) throws {
        guard let index = flags.firstIndex(of: old) else { throw SoundnessError("no flag \(old) in \(flags)") }
        flags[index] = new
    }

    /// A path in the context.
    func url(_ path: String) -> URL { context.appendingPathComponent(path) }

    /// Writes a context file (parents created), optionally with a mode.
    func write(_ path: String, _ text: String, mode: Int? = nil) throws {
        let file = url(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        if let mode { try chmod(path, mode) }
    }

    /// Writes a file in the workspace but outside the context (secrets, tar sources).
    func writeOutside(_ path: String, _ text: String) throws {
        let file = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }

    func remove(_ path: String) throws { try FileManager.default.removeItem(at: url(path)) }

    func mkdir(_ path: String) throws { try FileManager.default.createDirectory(at: url(path), withIntermediateDirectories: true) }

    func symlink(_ path: String, to target: String) throws {
        try? FileManager.default.removeItem(at: url(path))
        try FileManager.default.createSymbolicLink(atPath: url(path).path, withDestinationPath: target)
    }

    /// Makes `path` a second name of `existing`'s inode.
    func hardlink(_ path: String, to existing: String) throws {
        try? FileManager.default.removeItem(at: url(path))
        try FileManager.default.linkItem(at: url(existing), to: url(path))
    }

    func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url(path).path)
    }

    func chown(_ path: String, uid: Int, gid: Int) throws {
        try FileManager.default.setAttributes([.ownerAccountID: uid, .groupOwnerAccountID: gid], ofItemAtPath: url(path).path)
    }

    /// Sets the mtime of `path` (a context file or directory).
    func touch(_ path: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url(path).path)
    }

    /// Tars the workspace folder `source` (outside the context) into the context file `archive`.
    func tar(_ source: String, into archive: String) throws {
        try ProcessRunner.checked("tar", ["-cf", url(archive).path, "-C", directory.appendingPathComponent(source).path, "."])
    }

    /// Starts the loopback file server (`@HTTP@`), serving ``serve(_:_:)``'s files.
    func startHTTP() async throws {
        let source = """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2] + "/files")
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()

            """
        http = try await TestRegistryPythonServer.start(name: "soundness-http", source: source) { port, folder in
            try? FileManager.default.createDirectory(at: folder.appendingPathComponent("files"), withIntermediateDirectories: true)
            return [String(port), folder.path]
        }
    }

    /// Makes the file server answer `/<name>` with `text`.
    func serve(_ name: String, _ text: String) throws {
        guard let http else { throw SoundnessError("the case did not ask for the HTTP server") }
        try Data(text.utf8).write(to: http.directory.appendingPathComponent("files/\(name)"))
    }

    /// The SHA-256 (`sha256:…`) of a served file, for `ADD --checksum`.
    func servedChecksum(_ name: String) throws -> String {
        guard let http else { throw SoundnessError("the case did not ask for the HTTP server") }
        let sum = try ProcessRunner.checked("sha256sum", [http.directory.appendingPathComponent("files/\(name)").path]).stdout
        return "sha256:" + (sum.split(separator: " ").first.map(String.init) ?? "")
    }

    /// Layers of the busybox base under every case's image (one: `kiln import` of a tree).
    let baseLayerCount = 1

    /// Copies the shared busybox layout to `@WS@/<name>`: a base this case may change.
    func copyBaseLayout(to name: String) throws {
        try ProcessRunner.checked("cp", ["-a", try BaseImages.busybox().layout.path, directory.appendingPathComponent(name).path])
    }

    /// Imports the alternative busybox tree into `@WS@/<name>` as `busybox:latest`, replacing
    /// the ref of that name: the same tag now names another digest.
    func replaceBaseLayout(_ name: String) throws {
        let result = try KilnBinary.run(
            ["import", try SoundnessBases.alternative().rootfs.path,
             "--output", "type=oci,dest=\(directory.appendingPathComponent(name).path)", "--tag", "busybox:latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--change", #"CMD ["sh"]"#],
            environment: ["SOURCE_DATE_EPOCH": "0"])
        guard result.status == 0 else { throw SoundnessError("kiln import into \(name) failed: \(result.stderr)") }
    }

    // MARK: Building

    /// What one `kiln build` left: exit status, output, metadata and the OCI layout.
    struct Run {
        var label: String
        var status: Int32
        var stderr: String
        var outcome: BuildOutcome?
        var layout: URL
        var summary: OCILayoutSummary?
        var statuses: [String] { outcome?.statuses ?? [] }
    }

    func substitute(_ text: String) throws -> String {
        var text = text.replacingOccurrences(of: "@WS@", with: directory.path)
            .replacingOccurrences(of: "@BUSYBOX@", with: try BaseImages.busybox().layout.path)
        if text.contains("@ALT@") { text = text.replacingOccurrences(of: "@ALT@", with: try SoundnessBases.alternative().layout.path) }
        if let http { text = text.replacingOccurrences(of: "@HTTP@", with: "http://127.0.0.1:\(http.port)") }
        return text
    }

    /// The `kiln build` arguments of a build labelled `label` (its output goes to `out-<label>`).
    func arguments(_ label: String, extra: [String] = []) throws -> [String] {
        let file = directory.appendingPathComponent("Dockerfile")
        // Atomic: two concurrent builds write the same text here.
        try Data(try substitute(dockerfile).utf8).write(to: file, options: .atomic)
        return ["build", "--progress", "plain",
                "--metadata-file", directory.appendingPathComponent("metadata-\(label).json").path,
                "--output", "type=oci,dest=\(directory.appendingPathComponent("out-\(label)").path),name=latest",
                "-f", file.path,
                "--build-context", "busybox=oci-layout://\(try BaseImages.busybox().layout.path):latest"]
            + (try flags.map(substitute)) + extra + [context.path]
    }

    /// Builds the current state on `root`; `extra` flags (a cache repository) come last.
    func build(_ label: String, root: String, extra: [String] = []) throws -> Run {
        let layout = directory.appendingPathComponent("out-\(label)")
        try? FileManager.default.removeItem(at: layout)
        let arguments = try arguments(label, extra: extra)
        let environment = self.environment.merging(["KILN_ROOT": root]) { _, new in new }
        let result: KilnBinary.Result
        if let umask {
            // The shell sets the umask and execs the same binary KilnBinary.run would run.
            result = try ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"),
                                           ["-c", "umask \(umask) && exec \"$0\" \"$@\"", KilnBinary.url.path] + arguments,
                                           environment: environment, currentDirectory: directory)
        } else {
            result = try KilnBinary.run(arguments, environment: environment, currentDirectory: directory)
        }
        var run = Run(label: label, status: result.status, stderr: result.stderr, layout: layout)
        if result.status == 0 {
            run.outcome = try BuildOutcome(directory.appendingPathComponent("metadata-\(label).json"))
            run.summary = try OCILayoutSummary(layout: layout)
        }
        return run
    }

    /// The content of `path` in a build's image (umoci unpacks the layout), nil when absent.
    func imageFile(_ run: Run, _ path: String) throws -> String? {
        try imageData(run, path).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// The bytes of `path` in a build's image, nil when absent.
    func imageData(_ run: Run, _ path: String) throws -> Data? {
        let bundle = directory.appendingPathComponent("bundle-\(run.label)")
        if !FileManager.default.fileExists(atPath: bundle.path) {
            try ProcessRunner.checked("umoci", ["raw", "unpack", "--rootless", "--image", "\(run.layout.path):latest", bundle.path])
        }
        return try? Data(contentsOf: bundle.appendingPathComponent(path))
    }
}

/// A mistake in a case's own setup (not a finding about the builder).
struct SoundnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A second base image, `busybox` plus `/etc/alt` and an extra user in `/etc/passwd`, made
/// once per test run with `kiln import`: a base whose manifest digest and files differ from
/// ``BaseImages/busybox()``'s, for base-digest, named-context and `FROM ${ARG}` cases.
enum SoundnessBases {
    struct Alternative: Sendable {
        let rootfs: URL
        let layout: URL
    }

    static func alternative() throws -> Alternative { try cached.get() }

    private static let cached: Result<Alternative, any Error> = Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-soundness-bases-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory
                .appendingPathComponent("kiln-soundness-bases-\(ProcessInfo.processInfo.processIdentifier)"))
        }
        let rootfs = directory.appendingPathComponent("rootfs")
        try ProcessRunner.checked("cp", ["-a", try BaseImages.busybox().rootfs.path, rootfs.path])
        try Data("alt\n".utf8).write(to: rootfs.appendingPathComponent("etc/alt"))
        let passwd = rootfs.appendingPathComponent("etc/passwd")
        try Data((try String(contentsOf: passwd, encoding: .utf8) + "alt:x:1000:1000:alt:/:/bin/sh\n").utf8).write(to: passwd)
        let layout = directory.appendingPathComponent("layout")
        let result = try KilnBinary.run(
            ["import", rootfs.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "busybox:latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--change", #"CMD ["sh"]"#],
            environment: ["SOURCE_DATE_EPOCH": "0"])
        guard result.status == 0 else { throw SoundnessError("kiln import of the alternative base failed: \(result.stderr)") }
        return Alternative(rootfs: rootfs, layout: layout)
    }
}

/// The assertions of one case: each failure is a test issue, and the first one is kept for
/// the one-line report (`KILN_SOUNDNESS_REPORT=FILE` appends `mode | case → PASS|FAIL: …`).
final class SoundnessVerdict: @unchecked Sendable {
    let label: String
    private(set) var failures: [String] = []

    init(mode: String, name: String) { label = "\(mode) | \(name)" }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !condition else { return }
        fail(message(), sourceLocation: sourceLocation)
    }

    func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        failures.append(message)
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }

    /// Runs `body`, turning a thrown error into a failure, then writes the report line.
    func run(_ body: () async throws -> Void) async {
        do { try await body() } catch { fail("threw: \(error)") }
        report()
    }

    private func report() {
        guard let path = ProcessInfo.processInfo.environment["KILN_SOUNDNESS_REPORT"], !path.isEmpty else { return }
        let first = failures.first.map { "FAIL: " + $0.replacingOccurrences(of: "\n", with: " ").prefix(400) } ?? "PASS"
        let line = "\(label) → \(first)\n"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
    }
}
