import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("COPY/ADD: errors read like Docker's")
struct FileOpsErrorTests {
    @Test("a missing source")
    func missing() async throws {
        let context = try FileOpsTree("ctx")
        defer { context.remove() }
        let message = await fileOpsError { _ = try await context.plan(CopyRequest(sources: ["missing.txt"], destination: "/")) }
        #expect(message == "file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist")
    }

    @Test("a source missing from a --from stage or image says so, not 'build context'")
    func missingFromStage() async throws {
        let stage = try FileOpsTree("stage-root")
        defer { stage.remove() }
        let message = await fileOpsError {
            _ = try await CopyPlanner(scratch: stage.url(".scratch")).plan(CopyRequest(sources: ["/nope"], destination: "/"),
                                                                            from: .directory(stage.root))
        }
        #expect(message == "file not found in the --from stage or image: stat /nope: file does not exist")
    }

    @Test("a source excluded by .dockerignore, named or inside a directory")
    func ignored() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file(".dockerignore", "secret.env\nlogs/\n*.tmp\n!keep.tmp\n")
        try context.file("secret.env", "TOKEN=1")
        try context.file("app.py", "print()")
        try context.file("logs/a.log", "l")
        try context.file("x.tmp", "t")
        try context.file("keep.tmp", "k")
        let message = await fileOpsError { _ = try await context.plan(CopyRequest(sources: ["secret.env"], destination: "/")) }
        #expect(message == "file not found in build context or excluded by .dockerignore: stat secret.env: file does not exist")
        try await context.copy(CopyRequest(sources: ["."], destination: "/app/"), into: rootfs)
        #expect(rootfs.listing() == ["app", "app/.dockerignore", "app/app.py", "app/keep.tmp"])
    }

    @Test("an ignored directory named as a source still holds what an exception keeps")
    func ignoredDirectoryWithException() async throws {
        let context = try FileOpsTree("ctx"), rootfs = try FileOpsTree("rootfs")
        defer { context.remove(); rootfs.remove() }
        try context.file(".dockerignore", "docs\n!docs/keep.md\nbuild\n")
        try context.file("docs/keep.md", "k")
        try context.file("docs/drop.md", "d")
        try context.file("build/out", "o")
        try await context.copy(CopyRequest(sources: ["docs"], destination: "/d/"), into: rootfs)
        #expect(rootfs.listing() == ["d", "d/keep.md"])
        let message = await fileOpsError { _ = try await context.plan(CopyRequest(sources: ["build"], destination: "/b/")) }
        #expect(message == "file not found in build context or excluded by .dockerignore: stat build: file does not exist")
    }

    @Test("../ cannot leave the context: it is clamped at the root, so the outside file is not found")
    func dotDotEscape() async throws {
        let outer = try FileOpsTree("outer")
        defer { outer.remove() }
        try outer.file("x", "outside")
        try outer.file("ctx/inside", "in")
        let context = try BuildContext(directory: outer.url("ctx"), dockerfile: nil)
        let planner = CopyPlanner(scratch: outer.url("scratch"))
        let message = await fileOpsError { _ = try await planner.plan(CopyRequest(sources: ["../x"], destination: "/"), from: .context(context)) }
        #expect(message == "file not found in build context or excluded by .dockerignore: stat ../x: file does not exist")
    }

    @Test("a symlink out of the context resolves inside it")
    func symlinkEscape() async throws {
        let outer = try FileOpsTree("outer")
        defer { outer.remove() }
        try outer.file("secret", "outside")
        try outer.directory("ctx")
        try outer.symlink("ctx/abs", to: outer.url("secret").path)
        try outer.symlink("ctx/rel", to: "../secret")
        let context = try BuildContext(directory: outer.url("ctx"), dockerfile: nil)
        let planner = CopyPlanner(scratch: outer.url("scratch"))
        for source in ["abs", "rel"] {
            let message = await fileOpsError { _ = try await planner.plan(CopyRequest(sources: [source], destination: "/"), from: .context(context)) }
            #expect(message == "file not found in build context or excluded by .dockerignore: stat \(source): file does not exist")
        }
        // The same symlink inside the context's tree resolves to the context's own file.
        try outer.file("ctx/secret", "inside")
        let plan = try await planner.plan(CopyRequest(sources: ["rel"], destination: "/f"), from: .context(context))
        let rootfs = try FileOpsTree("rootfs")
        defer { rootfs.remove() }
        try await plan.apply(to: rootfs.root)
        #expect(rootfs.read("f") == "inside")
    }

    @Test("URLs in COPY, git sources in ADD, --checksum in COPY")
    func unsupportedSources() async throws {
        let context = try FileOpsTree("ctx")
        defer { context.remove() }
        let url = await fileOpsError { _ = try await context.plan(CopyRequest(sources: ["https://example.invalid/a"], destination: "/")) }
        #expect(url == "source can't be a URL for COPY: https://example.invalid/a")
        let git = await fileOpsError {
            _ = try await context.plan(CopyRequest(sources: ["https://example.invalid/r.git"], destination: "/", isAdd: true))
        }
        #expect(git == "ADD of git repositories is not supported yet: https://example.invalid/r.git")
    }

    @Test("a FIFO named as a source is refused instead of blocking the build")
    func specialFile() async throws {
        let context = try FileOpsTree("ctx")
        defer { context.remove() }
        #expect(mkfifo(context.url("pipe").path, 0o644) == 0)
        let message = await fileOpsError { _ = try await context.plan(CopyRequest(sources: ["pipe"], destination: "/")) }
        #expect(message == "cannot copy pipe: not a regular file, directory or symlink")
    }

    @Test("a context directory that does not exist")
    func missingContext() {
        #expect(throws: FileOperationError.self) { _ = try BuildContext(directory: URL(fileURLWithPath: "/nonexistent-\(UUID())"), dockerfile: nil) }
    }
}
