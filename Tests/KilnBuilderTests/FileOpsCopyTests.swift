import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import KilnDockerfile
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("COPY: Docker's source and destination rules")
struct FileOpsCopyTests {
    @Test("a directory source copies its contents; missing destinations are made 0755 root")
    func directoryContents() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("src/a.txt", "a", mode: 0o640)
        try context.file("src/sub/b.sh", "b", mode: 0o4755)
        try context.directory("src/empty", mode: 0o700)
        let plan = try await context.copy(CopyRequest(sources: ["src"], destination: "/opt/app/"), into: rootfs)
        #expect(rootfs.read("opt/app/a.txt") == "a")
        #expect(rootfs.read("opt/app/sub/b.sh") == "b")
        #expect(!rootfs.exists("opt/app/src"))
        #expect(rootfs.mode("opt/app/a.txt") == 0o640)
        #expect(rootfs.mode("opt/app/sub/b.sh") == 0o4755)
        #expect(rootfs.mode("opt/app/empty") == 0o700)
        #expect(rootfs.mode("opt") == 0o755)
        // The new destination is 0755 whatever the source directory's mode (Buildah agrees).
        chmod(context.url("src").path, 0o700)
        try await context.copy(CopyRequest(sources: ["src"], destination: "/new"), into: rootfs)
        #expect(rootfs.mode("new") == 0o755 && rootfs.read("new/a.txt") == "a")
        #expect(rootfs.status("opt/app/a.txt")?.st_uid == 0)
        #expect(plan.description.hasPrefix("dir:") && plan.description.hasSuffix(" in /opt/app/"))
    }

    @Test("a file keeps its mtime; destination relative to WORKDIR; no trailing slash writes the file as the destination")
    func fileToPath() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        let source = try context.file("config.yml", "x: 1")
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 5), timespec(tv_sec: 1_000_000_000, tv_nsec: 5)]
        utimensat(AT_FDCWD, source.path, &times, 0)
        let plan = try await context.copy(CopyRequest(sources: ["config.yml"], destination: "conf/app.yml", workingDirectory: "/srv"), into: rootfs)
        #expect(rootfs.read("srv/conf/app.yml") == "x: 1")
        #expect(rootfs.status("srv/conf/app.yml")?.st_mtim.tv_sec == 1_000_000_000)
        #expect(plan.description.hasPrefix("file:"))
        // An existing directory as destination takes the file inside it.
        try rootfs.directory("etc/existing")
        try await context.copy(CopyRequest(sources: ["config.yml"], destination: "/etc/existing"), into: rootfs)
        #expect(rootfs.read("etc/existing/config.yml") == "x: 1")
        // A symlink at the destination is replaced, not written through.
        try rootfs.file("bin/busybox", "busybox")
        try rootfs.symlink("bin/sh", to: "busybox")
        try await context.copy(CopyRequest(sources: ["config.yml"], destination: "/bin/sh"), into: rootfs)
        #expect(rootfs.read("bin/busybox") == "busybox")
        #expect(rootfs.type("bin/sh") == UInt32(S_IFREG) && rootfs.read("bin/sh") == "x: 1")
    }

    @Test("several sources need a destination ending in /")
    func severalSources() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("a", "a")
        try context.file("b", "b")
        let message = await fileOpsError { try await context.copy(CopyRequest(sources: ["a", "b"], destination: "/x"), into: rootfs) }
        #expect(message == "When using COPY with more than one source file, the destination must be a directory and end with a /")
        let glob = await fileOpsError { try await context.copy(CopyRequest(sources: ["*"], destination: "/x"), into: rootfs) }
        #expect(glob?.hasPrefix("When using COPY with more than one source file") == true)
        let plan = try await context.copy(CopyRequest(sources: ["a", "b"], destination: "/x/"), into: rootfs)
        #expect(rootfs.read("x/a") == "a" && rootfs.read("x/b") == "b")
        #expect(plan.description.hasPrefix("multi:"))
    }

    @Test("globs match one segment at a time with Go's rules")
    func globs() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("app/main.go", "m")
        try context.file("app/util.go", "u")
        try context.file("app/README.md", "r")
        try context.file("app/deep/x.go", "x")
        try context.file("lib/a1.c", "1")
        try context.file("lib/a2.c", "2")
        try context.file("lib/b1.c", "3")
        try await context.copy(CopyRequest(sources: ["app/*.go", "lib/[a]?.c"], destination: "/dst/"), into: rootfs)
        #expect(rootfs.listing() == ["dst", "dst/a1.c", "dst/a2.c", "dst/main.go", "dst/util.go"])
        #expect(SourceGlob("[^a]*").matches("b1.c"))
        #expect(!SourceGlob("*").matches("a/b"))
        #expect(SourceGlob("\\*").matches("*") && !SourceGlob("\\*").matches("x"))
        let none = await fileOpsError { try await context.copy(CopyRequest(sources: ["*.rs"], destination: "/dst/"), into: rootfs) }
        #expect(none == "no source files were specified: \"*.rs\" matched no files in the build context")
    }

    @Test("symlinks are copied as symlinks, a top-level symlink source is followed, hard links stay linked")
    func links() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("tree/real.txt", "real")
        try context.symlink("tree/link", to: "real.txt")
        try context.symlink("tree/dangling", to: "/nowhere")
        #expect(link(context.url("tree/real.txt").path, context.url("tree/hard.txt").path) == 0)
        try context.symlink("top", to: "tree/real.txt")
        try await context.copy(CopyRequest(sources: ["tree", "top"], destination: "/d/"), into: rootfs)
        #expect(rootfs.linkTarget("d/link") == "real.txt")
        #expect(rootfs.linkTarget("d/dangling") == "/nowhere")
        #expect(rootfs.type("d/top") == UInt32(S_IFREG) && rootfs.read("d/top") == "real")
        let real = try #require(rootfs.status("d/real.txt")), hard = try #require(rootfs.status("d/hard.txt"))
        #expect(real.st_ino == hard.st_ino && real.st_nlink >= 2)
    }

    @Test("--chown by name and id, resolved in the destination's /etc/passwd and /etc/group")
    func chown() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("d/f", "f")
        try rootfs.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n")
        try rootfs.file("etc/group", "root:x:0:\nstaff:x:50:\n")
        try await context.copy(CopyRequest(sources: ["d"], destination: "/a/", chown: "app"), into: rootfs)
        #expect(rootfs.status("a/f")?.st_uid == 1234 && rootfs.status("a/f")?.st_gid == 2345)
        try await context.copy(CopyRequest(sources: ["d"], destination: "/b/", chown: "77:staff"), into: rootfs)
        #expect(rootfs.status("b/f")?.st_uid == 77 && rootfs.status("b/f")?.st_gid == 50)
        try await context.copy(CopyRequest(sources: ["d"], destination: "/c/", chown: "88"), into: rootfs)
        #expect(rootfs.status("c/f")?.st_gid == 88)
        let unknown = await fileOpsError { try await context.copy(CopyRequest(sources: ["d"], destination: "/e/", chown: "nobody"), into: rootfs) }
        #expect(unknown?.contains("unable to find user nobody") == true)
    }

    @Test("--chmod octal and symbolic")
    func chmodModes() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("d/f", "f", mode: 0o600)
        try context.file("d/x", "x", mode: 0o700)
        try await context.copy(CopyRequest(sources: ["d"], destination: "/o/", chmod: "0751"), into: rootfs)
        #expect(rootfs.mode("o/f") == 0o751 && rootfs.mode("o/x") == 0o751)
        try await context.copy(CopyRequest(sources: ["d"], destination: "/s/", chmod: "go+rX"), into: rootfs)
        #expect(rootfs.mode("s/f") == 0o644 && rootfs.mode("s/x") == 0o755)
        let bad = await fileOpsError { try await context.copy(CopyRequest(sources: ["d"], destination: "/b/", chmod: "9z"), into: rootfs) }
        #expect(bad?.hasPrefix("invalid chmod parameter: 9z") == true)
    }

    @Test("--exclude hides matching entries below each source")
    func exclude() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("src/keep.go", "k")
        try context.file("src/skip.md", "s")
        try context.file("src/node_modules/x/y.js", "y")
        try context.file("src/node_modules/keep.txt", "k")
        try await context.copy(CopyRequest(sources: ["src"], destination: "/d/", excludes: ["*.md", "node_modules", "!node_modules/keep.txt"]), into: rootfs)
        #expect(rootfs.listing() == ["d", "d/keep.go", "d/node_modules", "d/node_modules/keep.txt"])
    }

    @Test("--parents keeps the source path, below a /./ pivot when there is one")
    func parents() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file("a/b/c.txt", "c")
        try context.file("x/y/z/w.txt", "w")
        try await context.copy(CopyRequest(sources: ["a/b/c.txt", "x/./y/z"], destination: "/p/", parents: true), into: rootfs)
        #expect(rootfs.read("p/a/b/c.txt") == "c")
        #expect(rootfs.read("p/y/z/w.txt") == "w")
        #expect(!rootfs.exists("p/x"))
        try context.file("svc/api/package.json", "api")
        try context.file("svc/web/package.json", "web")
        try await context.copy(CopyRequest(sources: ["svc/*/package.json"], destination: "/g/", parents: true), into: rootfs)
        #expect(rootfs.read("g/svc/api/package.json") == "api" && rootfs.read("g/svc/web/package.json") == "web")
    }

    @Test("heredoc sources become 0644 files")
    func heredoc() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        let inline = InlineFile(path: "run.sh", content: "echo hi\n", expand: false)
        try await context.copy(CopyRequest(sources: [], inlineFiles: [inline], destination: "/bin/"), into: rootfs)
        #expect(rootfs.read("bin/run.sh") == "echo hi\n" && rootfs.mode("bin/run.sh") == 0o644)
    }

    @Test("destination symlinks in the rootfs are followed inside it, never out of it")
    func containedDestination() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs"), outside = try FileOpsTree("outside")
        defer { context.remove(); rootfs.remove(); outside.remove() }
        try context.file("f", "f")
        try rootfs.directory("usr/lib")
        try rootfs.symlink("lib", to: "usr/lib")
        try rootfs.symlink("escape", to: outside.path)
        try await context.copy(CopyRequest(sources: ["f"], destination: "/lib/"), into: rootfs)
        #expect(rootfs.read("usr/lib/f") == "f")
        try await context.copy(CopyRequest(sources: ["f"], destination: "/escape/"), into: rootfs)
        #expect(outside.listing().isEmpty)
        #expect(rootfs.read(outside.path.dropFirst() + "/f") == "f")
    }

    @Test("COPY --from a directory root; files over files replace them, a file over a directory is refused")
    func fromDirectory() async throws {
        let stage = try FileOpsTree("stage"), rootfs = try FileOpsTree("rootfs"), scratch = try FileOpsTree("scratch")
        defer { stage.remove(); rootfs.remove(); scratch.remove() }
        try stage.file("out/bin", "new", mode: 0o755)
        try rootfs.file("usr/bin/tool", "old")
        let planner = CopyPlanner(scratch: scratch.root)
        let plan = try await planner.plan(CopyRequest(sources: ["/out/bin"], destination: "/usr/bin/tool"), from: .directory(stage.root))
        try await plan.apply(to: rootfs.root)
        #expect(rootfs.read("usr/bin/tool") == "new" && rootfs.mode("usr/bin/tool") == 0o755)
        try rootfs.directory("usr/share/dir")
        let onto = try await planner.plan(CopyRequest(sources: ["out"], destination: "/usr/share/"), from: .directory(stage.root))
        try rootfs.directory("usr/share/bin")
        let message = await fileOpsError { try await onto.apply(to: rootfs.root) }
        #expect(message == "cannot overwrite directory \"/usr/share/bin\" with non-directory")
    }
}
