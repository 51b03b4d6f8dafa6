import Foundation
import KilnTestSupport
import Testing

/// Symlinks shipped in an image out of its root — absolute, relative with more `..` than the
/// root is deep, and a chain of both — used through `--build-context NAME=oci-layout://…` and
/// as `FROM`: no bind mount (ro or rw), cache mount seeded `from=` it, `COPY --from` or RUN
/// ever shows or changes the host directory the links name. Through `kiln build`, real runc.
@Suite("named contexts and images: symlinks out of the image never reach the host", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "runc is not installed"))
struct NamedContextSymlinkEscapeTests {
    typealias HostDirectory = BindMountContainmentTests.HostDirectory

    let harness: BuildHarness
    let host: HostDirectory

    init() throws {
        harness = try BuildHarness()
        host = try HostDirectory()
    }

    /// The links in the image, each meant to name `host`: `/abs`, `/rel`, `/chain` (→ `d/inner`, relative escape).
    static let links = ["abs", "rel", "chain"]

    /// An OCI layout holding busybox plus the escaping links, made with `kiln import`; with
    /// `decoy`, the image also has its own `<host path>/inside.txt`, so a link resolved inside
    /// the image finds it.
    func image(decoy: Bool) throws -> URL {
        let rootfs = harness.directory.appendingPathComponent("rootfs-\(decoy)")
        try FileManager.default.copyItem(at: harness.base.rootfs, to: rootfs)
        let fileManager = FileManager.default
        try fileManager.createSymbolicLink(atPath: rootfs.appendingPathComponent("abs").path, withDestinationPath: host.url.path)
        try fileManager.createSymbolicLink(atPath: rootfs.appendingPathComponent("rel").path,
                                           withDestinationPath: "../../../../../../../..\(host.url.path)")
        try fileManager.createDirectory(at: rootfs.appendingPathComponent("d"), withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(atPath: rootfs.appendingPathComponent("d/inner").path,
                                           withDestinationPath: "../../../../../../..\(host.url.path)")
        try fileManager.createSymbolicLink(atPath: rootfs.appendingPathComponent("chain").path, withDestinationPath: "d/inner")
        if decoy {
            let inside = rootfs.appendingPathComponent(String(host.url.path.dropFirst()))
            try fileManager.createDirectory(at: inside, withIntermediateDirectories: true)
            try Data("image decoy\n".utf8).write(to: inside.appendingPathComponent("inside.txt"))
        }
        let layout = harness.directory.appendingPathComponent("layout-\(decoy)")
        try ProcessRunner.checked(KilnBinary.url, ["import", rootfs.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "evil:1"])
        return layout
    }

    /// Runs `kiln build` of `dockerfile` with busybox and `evil` (the image) as named contexts.
    func build(_ dockerfile: String, evil: URL) throws -> KilnBinary.Result {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        return try KilnBinary.run(
            ["build", "--progress", "plain", "--no-cache", "-f", file.path,
             "--build-context", "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)",
             "--build-context", "evil=oci-layout://\(evil.path):1",
             "--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)",
             harness.context.path],
            environment: ["KILN_ROOT": harness.root.url.path])
    }

    /// The host directory still holds exactly its marker, unchanged.
    func expectHostUntouched(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(host.contents == ["secret.txt"], sourceLocation: sourceLocation)
        let marker = try? String(contentsOf: host.url.appendingPathComponent("secret.txt"), encoding: .utf8)
        #expect(marker == "host secret\n", sourceLocation: sourceLocation)
    }

    @Test("RUN --mount=type=bind,from=<named context>,source=<link> (ro and rw) fails: the link resolves inside the image",
          arguments: links + ["dotdot", "stage"])
    func bindMountFromNamedContext(shape: String) throws {
        let evil = try image(decoy: false)
        for options in ["", ",rw"] {
            let dockerfile: String
            switch shape {
            case "dotdot":
                // No link at all: a source climbing out with `..`.
                dockerfile = "FROM busybox\nRUN --mount=type=bind,from=evil,source=../../../../../..\(host.url.path),target=/m\(options) "
                    + "cat /m/secret.txt; touch /m/pwned; echo done-$((1+1))\n"
            case "stage":
                // A stage built FROM the image: its links are the image's.
                dockerfile = "FROM evil AS s\nRUN echo stage\nFROM busybox\nRUN --mount=type=bind,from=s,source=abs,target=/m\(options) "
                    + "cat /m/secret.txt; touch /m/pwned; echo done-$((1+1))\n"
            default:
                dockerfile = "FROM busybox\nRUN --mount=type=bind,from=evil,source=\(shape),target=/m\(options) "
                    + "cat /m/secret.txt; touch /m/pwned-\(shape); echo done-$((1+1))\n"
            }
            let result = try build(dockerfile, evil: evil)
            #expect(result.status != 0, "\(result.stderr)")
            #expect(!result.stderr.contains("host secret"), "\(result.stderr)")
            #expect(result.stderr.contains("does not exist"), "\(result.stderr)")
            #expect(!result.stderr.contains("done-2"), "\(result.stderr)")
        }
        expectHostUntouched()
    }

    @Test("a link resolves inside the image: bind (ro, rw), COPY --from and FROM find the image's own copy of the path, never the host's")
    func linksResolveInsideTheImage() throws {
        let decoy = try image(decoy: true)
        var dockerfile = "FROM busybox\n"
        for link in Self.links {
            dockerfile += "RUN --mount=type=bind,from=evil,source=\(link),target=/m echo \(link)-ro: $(cat /m/inside.txt); "
                + "cat /m/secret.txt 2>/dev/null || echo \(link)-ro-no-secret\n"
            dockerfile += "RUN --mount=type=bind,from=evil,source=\(link),target=/m,rw echo \(link)-rw: $(cat /m/inside.txt); "
                + "touch /m/pwned-\(link) && echo \(link)-rw-wrote; cat /m/secret.txt 2>/dev/null || echo \(link)-rw-no-secret\n"
            dockerfile += "COPY --from=evil \(link)/ /copied-\(link)/\n"
        }
        dockerfile += "RUN find \(Self.links.map { "/copied-\($0)" }.joined(separator: " ")) | sort; cat /copied-*/* 2>&1\n"
        // The last stage is the target: FROM evil in a build of its own.
        var fromImage = "FROM evil\n"
        for link in Self.links {
            fromImage += "RUN echo \(link)-from: $(cat /\(link)/inside.txt); cat /\(link)/secret.txt 2>/dev/null || echo \(link)-from-no-secret; "
                + "touch /\(link)/pwned && echo \(link)-from-wrote\n"
        }
        let mounts = try build(dockerfile, evil: decoy)
        let from = try build(fromImage, evil: decoy)
        let result = (status: max(mounts.status, from.status), stderr: mounts.stderr + from.stderr)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("host secret"), "\(result.stderr)")
        for link in Self.links {
            for mode in ["ro", "rw", "from"] {
                #expect(result.stderr.contains(" \(link)-\(mode): image decoy\n"), "\(link) \(mode): \(result.stderr)")
                #expect(result.stderr.contains(" \(link)-\(mode)-no-secret\n"), "\(link) \(mode): \(result.stderr)")
            }
            #expect(result.stderr.contains(" \(link)-rw-wrote\n"))
            #expect(result.stderr.contains(" /copied-\(link)/inside.txt\n"), "\(result.stderr)")
            #expect(!result.stderr.contains("/copied-\(link)/secret.txt"), "\(result.stderr)")
        }
        expectHostUntouched()
    }

    @Test("COPY --from=<named context> through a link out of the image copies no host file", arguments: links)
    func copyFromNamedContext(link: String) throws {
        let evil = try image(decoy: false)
        for source in ["\(link)/", "\(link)/secret.txt", "\(link)/*"] {
            let result = try build("FROM busybox\nCOPY --from=evil \(source) /x/\nRUN find /x; cat /x/secret.txt 2>/dev/null || echo no-secret\n",
                                   evil: evil)
            #expect(!result.stderr.contains("host secret"), "\(result.stderr)")
            // Either the source does not exist in the image (an error), or nothing of the host came.
            if result.status == 0 {
                #expect(result.stderr.contains(" no-secret\n"), "\(source): \(result.stderr)")
            }
        }
        expectHostUntouched()
    }

    @Test("RUN --mount=type=cache,from=<named context>,source=<link>: whether the seed is refused or ignored, it never reaches the host",
          arguments: links)
    func cacheMountSeededFromNamedContext(link: String) throws {
        let evil = try image(decoy: false)
        let result = try build("FROM busybox\nRUN --mount=type=cache,from=evil,source=\(link),target=/c,id=seed-\(link) "
                               + "ls -la /c; cat /c/secret.txt 2>/dev/null || echo no-secret; touch /c/pwned && echo wrote\n", evil: evil)
        #expect(!result.stderr.contains("host secret"), "\(result.stderr)")
        if result.status == 0 {
            #expect(result.stderr.contains(" no-secret\n"), "\(result.stderr)")
            #expect(result.stderr.contains(" wrote\n"), "\(result.stderr)")
            // The write went to the cache directory under the root, not to the host.
            let caches = (FileManager.default.enumerator(atPath: harness.root.url.appendingPathComponent("cache-mounts").path)?
                .allObjects as? [String]) ?? []
            #expect(caches.contains { $0.hasSuffix("/pwned") }, "\(caches)")
        }
        expectHostUntouched()
    }

    @Test("FROM an image with links out of it: RUN reads and writes through them inside its own root")
    func fromImageWithLinks() throws {
        let evil = try image(decoy: false)
        var dockerfile = "FROM evil\n"
        for link in Self.links {
            dockerfile += "RUN readlink /\(link); cat /\(link)/secret.txt 2>/dev/null || echo \(link)-unreadable; "
                + "touch /\(link)/pwned 2>/dev/null || echo \(link)-untouchable; echo \(link)-done\n"
        }
        let result = try build(dockerfile, evil: evil)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("host secret"), "\(result.stderr)")
        for link in Self.links {
            #expect(result.stderr.contains(" \(link)-unreadable\n"), "\(result.stderr)")
            #expect(result.stderr.contains(" \(link)-done\n"))
        }
        expectHostUntouched()
    }
}
