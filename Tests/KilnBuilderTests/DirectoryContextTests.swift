import Foundation
import KilnTestSupport
import Testing

/// `--build-context NAME=DIR`: a local directory as a named context, read like the main
/// context — its own `.dockerignore`, keys over the content of exactly the files read (never
/// mtimes), symlinks never leading out — by `COPY --from`, bind mounts and cache seeds; and
/// `NAME=docker-image://REF` as an alias of a registry image. Through `kiln build`, real runc.
@Suite("named contexts: local directories and docker-image:// aliases", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "runc is not installed"))
struct DirectoryContextTests {
    let harness: BuildHarness
    /// The directory context `deps`: `a.txt`, `b.txt`, `sub/c.txt`, and `ignored.txt` that its
    /// `.dockerignore` hides.
    let deps: URL

    init() throws {
        harness = try BuildHarness()
        deps = harness.directory.appendingPathComponent("deps")
        try FileManager.default.createDirectory(at: deps.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try write("a.txt", "alpha\n")
        try write("b.txt", "bravo\n")
        try write("sub/c.txt", "charlie\n")
        try write("ignored.txt", "ignored\n")
        try write(".dockerignore", "ignored.txt\n")
    }

    func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: deps.appendingPathComponent(path))
    }

    var busyboxFlag: [String] {
        ["--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"]
    }

    struct Built {
        var result: KilnBinary.Result
        /// Each filesystem step's status (`executed`, `cached`), in order.
        var statuses: [String]
        /// The unpacked image's rootfs, when the build succeeded.
        var rootfs: URL?

        func file(_ path: String) -> String? {
            rootfs.flatMap { try? String(contentsOf: $0.appendingPathComponent(path), encoding: .utf8) }
        }
    }

    /// Runs `kiln build` of `dockerfile` with busybox and `deps=<deps>` (or `contexts`) as
    /// named contexts; unpacks the image on success.
    func build(_ dockerfile: String, contexts: [String]? = nil, currentDirectory: URL? = nil) throws -> Built {
        let file = harness.directory.appendingPathComponent("Dockerfile-\(UUID().uuidString)")
        try Data(dockerfile.utf8).write(to: file)
        let layout = harness.directory.appendingPathComponent("out-\(UUID().uuidString)")
        let metadata = harness.directory.appendingPathComponent("metadata-\(UUID().uuidString).json")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path, "--metadata-file", metadata.path,
             "--output", "type=oci,dest=\(layout.path),name=v1"]
                + busyboxFlag + (contexts ?? ["--build-context", "deps=\(deps.path)"]) + [harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path], currentDirectory: currentDirectory)
        guard result.status == 0 else { return Built(result: result, statuses: [], rootfs: nil) }
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: metadata)) as? [String: Any]
        let statuses = (document?["kiln.steps"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            .filter { $0 != "metadata" }
        let bundle = harness.directory.appendingPathComponent("bundle-\(UUID().uuidString)")
        _ = try ProcessRunner.checked("umoci", ["unpack", "--image", "\(layout.path):v1", bundle.path])
        return Built(result: result, statuses: statuses, rootfs: bundle.appendingPathComponent("rootfs"))
    }

    @Test("COPY --from=<dir>: its files after its .dockerignore; a hit on rebuild and after a touch or an edit of a file not copied, a miss after an edit of a copied one")
    func copyFrom() throws {
        let dockerfile = "FROM busybox\nCOPY --from=deps a.txt /a.txt\nCOPY --from=deps / /all/\n"
        let first = try build(dockerfile)
        #expect(first.result.status == 0, "\(first.result.stderr)")
        #expect(first.statuses == ["executed", "executed"])
        #expect(first.file("a.txt") == "alpha\n")
        #expect(first.file("all/sub/c.txt") == "charlie\n")
        #expect(first.file("all/b.txt") == "bravo\n")
        #expect(first.file("all/ignored.txt") == nil, "the context's own .dockerignore applies")

        #expect(try build(dockerfile).statuses == ["cached", "cached"])
        // A new mtime and an edit of an ignored file change nothing that is read.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)],
                                              ofItemAtPath: deps.appendingPathComponent("a.txt").path)
        try write("ignored.txt", "edited but ignored\n")
        #expect(try build(dockerfile).statuses == ["cached", "cached"])
        // b.txt is copied by the second COPY only.
        try write("b.txt", "bravo two\n")
        let afterB = try build(dockerfile)
        #expect(afterB.statuses == ["cached", "executed"])
        #expect(afterB.file("all/b.txt") == "bravo two\n")
        try write("a.txt", "alpha two\n")
        let afterA = try build(dockerfile)
        #expect(afterA.statuses == ["executed", "executed"])
        #expect(afterA.file("a.txt") == "alpha two\n")
    }

    @Test("the key holds what is read, not where: the same files in another directory, or in the main context, hit")
    func keysAreByContent() throws {
        let dockerfile = "FROM busybox\nCOPY --from=deps sub /sub\nRUN --mount=type=bind,from=deps,source=sub,target=/m cat /m/c.txt > /seen\n"
        #expect(try build(dockerfile).statuses == ["executed", "executed"])
        let moved = harness.directory.appendingPathComponent("elsewhere/deps-copy")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: deps, to: moved)
        #expect(try build(dockerfile, contexts: ["--build-context", "deps=\(moved.path)"]).statuses == ["cached", "cached"])
        // The main context holding the same files gives the same COPY.
        try FileManager.default.copyItem(at: deps.appendingPathComponent("sub"), to: harness.context.appendingPathComponent("sub"))
        #expect(try build("FROM busybox\nCOPY sub /sub\n").statuses == ["cached"])
    }

    @Test("RUN --mount=type=bind,from=<dir>: read-only by default; the key holds the mounted files' content")
    func bindMount() throws {
        let dockerfile = """
            FROM busybox
            RUN --mount=type=bind,from=deps,source=sub,target=/m cat /m/c.txt > /seen && if touch /m/x 2>/dev/null; then echo writable > /rw; fi
            """
        let first = try build(dockerfile)
        #expect(first.result.status == 0, "\(first.result.stderr)")
        #expect(first.statuses == ["executed"])
        #expect(first.file("seen") == "charlie\n")
        #expect(first.file("rw") == nil, "the mount is read-only")
        try write("a.txt", "not mounted\n")
        #expect(try build(dockerfile).statuses == ["cached"])
        try write("sub/c.txt", "charlie two\n")
        let edited = try build(dockerfile)
        #expect(edited.statuses == ["executed"])
        #expect(edited.file("seen") == "charlie two\n")
    }

    @Test("RUN --mount=type=cache,from=<dir>,source=…: a new cache starts with the directory's files")
    func cacheMountSeed() throws {
        let dockerfile = """
            FROM busybox
            RUN --mount=type=cache,target=/c,id=dirseed,from=deps,source=/sub cat /c/c.txt > /seeded && ls -A /c > /listing
            """
        let built = try build(dockerfile)
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(built.file("seeded") == "charlie\n")
        #expect(built.file("listing") == "c.txt\n")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root.tmp.path)) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("a relative directory is relative to the current directory")
    func relativeDirectory() throws {
        let built = try build("FROM busybox\nCOPY --from=deps sub/c.txt /c.txt\n",
                              contexts: ["--build-context", "deps=./deps"], currentDirectory: harness.directory)
        #expect(built.result.status == 0, "\(built.result.stderr)")
        #expect(built.file("c.txt") == "charlie\n")
    }

    @Test("symlinks in the directory never lead out of it: COPY --from and bind mounts through them fail")
    func symlinksStayInside() throws {
        let host = try BindMountContainmentTests.HostDirectory()
        try FileManager.default.createSymbolicLink(atPath: deps.appendingPathComponent("out").path, withDestinationPath: host.url.path)
        try FileManager.default.createSymbolicLink(atPath: deps.appendingPathComponent("up").path,
                                                   withDestinationPath: "../../../../../../../..\(host.url.path)")
        for link in ["out", "up"] {
            let copy = try build("FROM busybox\nCOPY --from=deps \(link)/secret.txt /s\n")
            #expect(copy.result.status != 0)
            let mount = try build("FROM busybox\nRUN --mount=type=bind,from=deps,source=\(link),target=/m cat /m/secret.txt > /s\n")
            #expect(mount.result.status != 0)
            #expect(!mount.result.stderr.contains("host secret"))
        }
        #expect(host.contents == ["secret.txt"])
    }

    @Test("errors before the build: a missing directory, a file, a missing relative path; FROM <dir> at its line and column")
    func errors() throws {
        let file = harness.directory.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let dockerfile = "FROM busybox\nCOPY --from=deps a.txt /a.txt\n"
        let missing = try build(dockerfile, contexts: ["--build-context", "deps=\(harness.directory.path)/nope"])
        #expect(missing.result.status != 0)
        #expect(missing.result.stderr.contains("build context \"deps\": the directory \(harness.directory.path)/nope does not exist"),
                "\(missing.result.stderr)")
        let notDirectory = try build(dockerfile, contexts: ["--build-context", "deps=\(file.path)"])
        #expect(notDirectory.result.stderr.contains("build context \"deps\": \(file.path) is not a directory"), "\(notDirectory.result.stderr)")
        let relative = try build(dockerfile, contexts: ["--build-context", "deps=nope/deeper"], currentDirectory: harness.directory)
        #expect(relative.result.stderr.contains("\(harness.directory.path)/nope/deeper does not exist"), "\(relative.result.stderr)")

        let from = try build("FROM busybox\nRUN true\nFROM deps\n")
        #expect(from.result.status != 0)
        #expect(from.result.stderr.contains(":3:6: error:"), "\(from.result.stderr)")
        #expect(from.result.stderr.contains("build context \"deps\" is a local directory"), "\(from.result.stderr)")
    }

    @Test("NAME=docker-image://REF: REF from the registry wherever NAME is named (FROM and COPY --from)",
          .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
    func dockerImageAlias() async throws {
        try await withTestRegistry { registry in
            let name = "\(registry.host)/base/busybox:1"
            try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", harness.base.ociReference, "docker://\(name)"])
            let built = try build("FROM base\nCOPY --from=base /bin/busybox /copied\nRUN echo via-alias > /ok\n",
                                  contexts: ["--build-context", "base=docker-image://\(name)"])
            #expect(built.result.status == 0, "\(built.result.stderr)")
            #expect(built.file("ok") == "via-alias\n")
            #expect(built.rootfs.map { FileManager.default.fileExists(atPath: $0.appendingPathComponent("copied").path) } == true)
        }
    }
}
