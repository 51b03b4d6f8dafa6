import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import KilnTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ADD: local archives and URLs")
struct FileOpsAddTests {
    /// Writes `archive.<suffix>` with Python's tarfile (mode `w:gz`, `w:bz2`, `w:xz`, `w`) from
    /// `tree/payload` and returns the member names Python lists, without the leading `./`.
    private func makeArchive(in tree: FileOpsTree, name: String, mode: String) throws -> [String] {
        let script = """
        import sys, tarfile
        with tarfile.open(sys.argv[1], sys.argv[2]) as t:
            t.add(sys.argv[3], arcname=".")
        with tarfile.open(sys.argv[1]) as t:
            print("\\n".join(sorted(m.name[2:] for m in t.getmembers() if m.name != ".")))
        """
        let result = try ProcessRunner.checked("python3", ["-c", script, tree.url(name).path, mode, tree.url("payload").path])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    private func payload(_ tree: FileOpsTree) throws {
        try tree.file("payload/etc/app.conf", "conf", mode: 0o600)
        try tree.file("payload/bin/tool", "tool", mode: 0o755)
        try tree.symlink("payload/bin/alias", to: "tool")
    }

    @Test("gzip, bzip2, xz, zstd and plain tars are extracted into the destination", arguments: ["gz", "bz2", "xz", "zst", "plain"])
    func extractsArchives(_ compression: String) async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try payload(context)
        let name: String
        let expected: [String]
        if compression == "zst" {
            expected = try makeArchive(in: context, name: "a.tar", mode: "w")
            try ProcessRunner.checked("zstd", ["-q", "--rm", context.url("a.tar").path, "-o", context.url("a.tar.zst").path])
            name = "a.tar.zst"
        } else {
            name = compression == "plain" ? "a.tar" : "a.tar.\(compression)"
            expected = try makeArchive(in: context, name: name, mode: compression == "plain" ? "w" : "w:\(compression)")
        }
        try await context.copy(CopyRequest(sources: [name], destination: "/opt/", isAdd: true), into: rootfs)
        #expect(rootfs.listing() == ["opt"] + expected.map { "opt/" + $0 })
        #expect(rootfs.read("opt/etc/app.conf") == "conf" && rootfs.mode("opt/etc/app.conf") == 0o600)
        #expect(rootfs.linkTarget("opt/bin/alias") == "tool")
        try await context.copy(CopyRequest(sources: [name], destination: "/owned/", chown: "123:456", isAdd: true), into: rootfs)
        #expect(rootfs.status("owned/bin/tool")?.st_uid == 123 && rootfs.status("owned/bin/alias")?.st_gid == 456)
        #expect(rootfs.status("owned")?.st_uid == 123)  // made by the copy, so owned by --chown
    }

    @Test("--unpack=false, COPY, and non-archives copy the file as it is")
    func noExtraction() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try payload(context)
        _ = try makeArchive(in: context, name: "a.tgz", mode: "w:gz")
        try context.file("notes.txt", "plain text")
        try await context.copy(CopyRequest(sources: ["a.tgz", "notes.txt"], destination: "/k/", isAdd: true, unpack: false), into: rootfs)
        try await context.copy(CopyRequest(sources: ["a.tgz"], destination: "/c/"), into: rootfs)
        try await context.copy(CopyRequest(sources: ["notes.txt"], destination: "/n/", isAdd: true), into: rootfs)
        #expect(rootfs.type("k/a.tgz") == UInt32(S_IFREG) && rootfs.read("k/notes.txt") == "plain text")
        #expect(rootfs.type("c/a.tgz") == UInt32(S_IFREG))
        #expect(rootfs.read("n/notes.txt") == "plain text")
    }

    @Test("an archive whose members climb out with ../ is refused and writes nothing outside")
    func hostileArchive() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        let script = """
        import io, sys, tarfile
        with tarfile.open(sys.argv[1], "w") as t:
            data = b"evil"
            info = tarfile.TarInfo("../../escaped"); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        """
        try ProcessRunner.checked("python3", ["-c", script, context.url("evil.tar").path])
        let message = await fileOpsError { try await context.copy(CopyRequest(sources: ["evil.tar"], destination: "/x/y/", isAdd: true), into: rootfs) }
        #expect(message != nil)
        #expect(!rootfs.exists("escaped") && !rootfs.exists("x/escaped"))
        #expect(!FileManager.default.fileExists(atPath: rootfs.root.deletingLastPathComponent().appendingPathComponent("escaped").path))
    }

    /// A `python3 -m http.server` on a free loopback port, serving `directory/www`.
    private func withFileServer(_ body: (TestRegistryPythonServer, URL) async throws -> Void) async throws {
        let source = """
        import functools, http.server, sys
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2] + "/www")
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
        """
        let server = try await TestRegistryPythonServer.start(
            name: "fileops-http", source: source, arguments: { port, directory in
                try? FileManager.default.createDirectory(at: directory.appendingPathComponent("www"), withIntermediateDirectories: true)
                return [String(port), directory.path]
            })
        do {
            try await body(server, server.directory.appendingPathComponent("www"))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("http URLs: named from the path, mode 0600, mtime from Last-Modified, --checksum verified; 404 and mismatches are clear")
    func urls() async throws {
        try await withFileServer { server, www in
            let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
            defer { context.remove(); rootfs.remove() }
            let file = www.appendingPathComponent("release-1.2.txt")
            try Data("downloaded\n".utf8).write(to: file)
            var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 0), timespec(tv_sec: 1_500_000_000, tv_nsec: 0)]
            utimensat(AT_FDCWD, file.path, &times, 0)
            let url = "http://127.0.0.1:\(server.port)/release-1.2.txt"
            let sum = "sha256:" + (try ProcessRunner.checked("sha256sum", [file.path]).stdout.prefix(64))
            try await context.copy(CopyRequest(sources: [url], destination: "/dl/", isAdd: true, checksum: sum), into: rootfs)
            #expect(rootfs.read("dl/release-1.2.txt") == "downloaded\n")
            #expect(rootfs.mode("dl/release-1.2.txt") == 0o600)
            #expect(rootfs.status("dl/release-1.2.txt")?.st_mtim.tv_sec == 1_500_000_000)
            try await context.copy(CopyRequest(sources: [url], destination: "/named", isAdd: true), into: rootfs)
            #expect(rootfs.read("named") == "downloaded\n")

            let missing = await fileOpsError {
                try await context.copy(CopyRequest(sources: ["http://127.0.0.1:\(server.port)/nope"], destination: "/dl/", isAdd: true), into: rootfs)
            }
            #expect(missing == "failed to fetch http://127.0.0.1:\(server.port)/nope: invalid response status 404 Not Found")
            let wrong = "sha256:" + String(repeating: "0", count: 64)
            let mismatch = await fileOpsError {
                try await context.copy(CopyRequest(sources: [url], destination: "/bad/", isAdd: true, checksum: wrong), into: rootfs)
            }
            #expect(mismatch == "checksum mismatch for \(url): expected \(wrong), got \(sum)")
            #expect(!rootfs.exists("bad"))
            let malformed = await fileOpsError {
                try await context.copy(CopyRequest(sources: [url], destination: "/bad/", isAdd: true, checksum: "md5:abc"), into: rootfs)
            }
            #expect(malformed == "invalid checksum md5:abc: expected sha256:<64 hex digits>")

            // A downloaded archive stays a file unless --unpack=true.
            try payload(context)
            _ = try makeArchive(in: context, name: "p.tgz", mode: "w:gz")
            try FileManager.default.copyItem(at: context.url("p.tgz"), to: www.appendingPathComponent("p.tgz"))
            let archiveURL = "http://127.0.0.1:\(server.port)/p.tgz"
            try await context.copy(CopyRequest(sources: [archiveURL], destination: "/kept/", isAdd: true), into: rootfs)
            #expect(rootfs.type("kept/p.tgz") == UInt32(S_IFREG))
            try await context.copy(CopyRequest(sources: [archiveURL], destination: "/unpacked/", isAdd: true, unpack: true), into: rootfs)
            #expect(rootfs.read("unpacked/etc/app.conf") == "conf")
        }
    }
}
