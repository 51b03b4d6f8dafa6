import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import KilnTestSupport
import Testing

@Suite("Build context: ignore files and a tar on standard input")
struct FileOpsContextTests {
    @Test("<Dockerfile>.dockerignore beside the Dockerfile wins over .dockerignore")
    func dockerfileSpecificIgnore() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file(".dockerignore", "a\n")
        try context.file("docker/prod.Dockerfile", "FROM scratch\n")
        try context.file("docker/prod.Dockerfile.dockerignore", "b\ndocker\n")
        try context.file("a", "a")
        try context.file("b", "b")
        try await context.copy(CopyRequest(sources: ["."], destination: "/c/"), into: rootfs,
                               dockerfile: context.url("docker/prod.Dockerfile"))
        #expect(rootfs.listing() == ["c", "c/.dockerignore", "c/a"])
    }

    @Test("a context tar (gzip) on a stream is extracted and used")
    func tarStream() async throws {
        let source = try FileOpsTree("src"), scratch = try FileOpsTree("scratch"), rootfs = try FileOpsTree("rootfs")
        defer { source.remove(); scratch.remove(); rootfs.remove() }
        try source.file("Dockerfile", "FROM scratch\nCOPY . /\n")
        try source.file(".dockerignore", "ignored\n")
        try source.file("app/main.sh", "echo", mode: 0o755)
        try source.file("ignored", "no")
        let archive = scratch.url("ctx.tgz")
        try ProcessRunner.checked("tar", ["-czf", archive.path, "-C", source.path, "."])
        let handle = try FileHandle(forReadingFrom: archive)
        defer { try? handle.close() }
        let context = try await BuildContext.extracting(tarStream: handle, into: scratch.url("build"))
        #expect(context.dockerfile?.lastPathComponent == "Dockerfile")
        let plan = try await CopyPlanner(scratch: scratch.url("build")).plan(CopyRequest(sources: ["."], destination: "/"), from: .context(context))
        try await plan.apply(to: rootfs.root)
        #expect(rootfs.listing() == [".dockerignore", "Dockerfile", "app", "app/main.sh"])
        #expect(rootfs.mode("app/main.sh") == 0o755)
        #expect(!FileManager.default.fileExists(atPath: scratch.url("build").path + "/context.tar"))
    }

    @Test("a stream that is not a tar is refused")
    func notATar() async throws {
        let scratch = try FileOpsTree("scratch")
        defer { scratch.remove() }
        let junk = try scratch.file("junk", "this is not a tar archive")
        let handle = try FileHandle(forReadingFrom: junk)
        defer { try? handle.close() }
        let message = await fileOpsError { _ = try await BuildContext.extracting(tarStream: handle, into: scratch.url("build")) }
        #expect(message == "the context on standard input is not a tar archive")
    }
}
