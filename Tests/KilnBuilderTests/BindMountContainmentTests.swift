import Foundation
import KilnBuilder
import KilnTestSupport
import Testing

/// What runc is given to mount is a path Kiln resolved inside the source's own root (or a
/// private copy of the context files the key hashed): no symlink in a stage, an image or the
/// context can make a bind mount reach the host's files, ro or rw, while symlinks that stay
/// inside their root resolve as BuildKit resolves them. Files `.dockerignore` excludes do not
/// exist for the build, through a mount as through COPY.
@Suite("RUN --mount=type=bind: contained sources, one filtered context", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "runc is not installed"))
struct BindMountContainmentTests {
    /// A host directory holding a marker file, outside every root the build knows.
    final class HostDirectory {
        let url: URL
        init() throws {
            url = URL(fileURLWithPath: "/tmp/kiln-host-\(UUID().uuidString.prefix(8).lowercased())")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data("host secret\n".utf8).write(to: url.appendingPathComponent("secret.txt"))
        }
        deinit { try? FileManager.default.removeItem(at: url) }
        var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path).sorted()) ?? [] }
    }

    func buildFails(_ harness: BuildHarness, _ dockerfile: String) async -> String? {
        do {
            _ = try await harness.build(dockerfile)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a stage's absolute and relative symlinks out of its root never reach the host, ro or rw",
          arguments: ["abs", "rel", "deep"])
    func stageSymlinkEscape(shape: String) async throws {
        let host = try HostDirectory()
        let harness = try BuildHarness()
        let link: String
        switch shape {
        case "abs": link = "ln -s \(host.url.path) /lnk"
        case "rel": link = "ln -s ../../../../../../..\(host.url.path) /lnk"
        default: link = "mkdir -p /d && ln -s \(host.url.path) /d/lnk && ln -s /d /lnk-parent && ln -s lnk-parent/lnk /lnk"
        }
        for options in ["", ",rw"] {
            let message = await buildFails(harness, """
                FROM busybox AS evil
                RUN \(link)
                FROM busybox
                RUN --mount=type=bind,from=evil,source=lnk,target=/m\(options) cat /m/secret.txt; touch /m/pwned-\(shape) 2>/dev/null; echo done
                """)
            let output = harness.outputLines.joined(separator: "\n")
            #expect(!output.contains("host secret"), "\(output)")
            // The link resolves inside the stage's root, where the host path does not exist.
            #expect(message?.contains("does not exist") == true, "\(message ?? "built") \(output)")
        }
        #expect(host.contents == ["secret.txt"])
    }

    @Test("a context symlink out of the context never reaches the host through a bind mount")
    func contextSymlinkEscape() async throws {
        let host = try HostDirectory()
        let harness = try BuildHarness()
        try FileManager.default.createSymbolicLink(atPath: harness.context.appendingPathComponent("lnk").path,
                                                   withDestinationPath: host.url.path)
        for options in ["", ",rw"] {
            let message = await buildFails(harness, """
                FROM busybox
                RUN --mount=type=bind,source=lnk,target=/m\(options) cat /m/secret.txt; touch /m/pwned 2>/dev/null; echo done
                """)
            #expect(!harness.outputLines.joined().contains("host secret"))
            #expect(message != nil)
        }
        // Mounting the whole context shows the link as a link, never what it points to.
        _ = try await harness.build("""
            FROM busybox
            RUN --mount=type=bind,target=/m,rw readlink /m/lnk; cat /m/lnk/secret.txt 2>/dev/null || echo unreadable; touch /m/lnk/pwned 2>/dev/null; echo done
            """)
        #expect(harness.outputLines.contains("unreadable"), "\(harness.outputLines)")
        #expect(!harness.outputLines.joined().contains("host secret"))
        #expect(host.contents == ["secret.txt"])
    }

    @Test("symlinks inside a stage or image resolve inside it, as BuildKit resolves them")
    func inRootSymlinksResolve() async throws {
        let harness = try BuildHarness()
        _ = try await harness.build("""
            FROM busybox AS files
            RUN mkdir -p /real/sub && echo inside > /real/sub/f && ln -s /real /abs && ln -s real /rel && ln -s ../real/sub /real/up
            FROM busybox
            RUN --mount=type=bind,from=files,source=abs,target=/a --mount=type=bind,from=files,source=rel/sub,target=/b \\
                --mount=type=bind,from=files,source=/real/up,target=/c --mount=type=bind,from=busybox,source=bin/sh,target=/sh \\
                cat /a/sub/f /b/f /c/f && /sh -c 'echo via-image-symlink'
            """)
        #expect(harness.outputLines == ["inside", "inside", "inside", "via-image-symlink"], "\(harness.outputLines)")
    }

    @Test("an ignored file does not exist for the build: not through a bind mount, COPY or ADD")
    func ignoredFilesStayIgnored() async throws {
        let harness = try BuildHarness()
        try Data("visible\n".utf8).write(to: harness.context.appendingPathComponent("visible.txt"))
        try Data("ignored secret\n".utf8).write(to: harness.context.appendingPathComponent("ignored.txt"))
        try Data("ignored.txt\n".utf8).write(to: harness.context.appendingPathComponent(".dockerignore"))
        let result = try await harness.build("""
            FROM busybox
            RUN --mount=type=bind,target=/ctx ls -a /ctx && cat /ctx/ignored.txt 2>/dev/null || echo no-ignored-file
            COPY . /copied/
            ADD . /added/
            """)
        #expect(harness.outputLines.contains("visible.txt"))
        #expect(harness.outputLines.contains("no-ignored-file"))
        #expect(!harness.outputLines.joined().contains("ignored secret"))
        let bundle = try await harness.unpack(result)
        let rootfs = bundle.appendingPathComponent("rootfs")
        #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("copied/visible.txt").path))
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("copied/ignored.txt").path))
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("added/ignored.txt").path))
        let message = await buildFails(harness, "FROM busybox\nRUN --mount=type=bind,source=ignored.txt,target=/s cat /s\n")
        #expect(message != nil && !harness.outputLines.joined().contains("ignored secret"), "\(message ?? "built")")
    }
}
