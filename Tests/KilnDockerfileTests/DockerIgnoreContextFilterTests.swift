import Foundation
import Testing
@testable import KilnDockerfile

/// Finding the ignore file of a build (BuildKit's precedence) on real directories.
@Suite struct DockerIgnoreContextFilterTests {
    /// A temporary build context, removed when the test ends.
    final class Context {
        let root: URL

        init() throws {
            root = FileManager.default.temporaryDirectory
                .appendingPathComponent("kiln-dockerignore-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        @discardableResult
        func write(_ relativePath: String, _ text: String) throws -> URL {
            let url = root.appendingPathComponent(relativePath)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return url
        }
    }

    @Test func contextRootDockerignoreIsUsedWhenAlone() throws {
        let context = try Context()
        let dockerfile = try context.write("Dockerfile", "FROM scratch\n")
        let ignore = try context.write(".dockerignore", "*.log\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(filter.ignoreFile?.standardizedFileURL == ignore.standardizedFileURL)
        #expect(try filter.isExcluded("debug.log"))
        #expect(try !filter.isExcluded("main.swift"))
    }

    @Test func dockerfileSpecificIgnoreFileTakesPrecedence() throws {
        let context = try Context()
        let dockerfile = try context.write("Dockerfile", "FROM scratch\n")
        try context.write(".dockerignore", "*.log\n")
        let specific = try context.write("Dockerfile.dockerignore", "*.tmp\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(filter.ignoreFile?.standardizedFileURL == specific.standardizedFileURL)
        #expect(try filter.isExcluded("a.tmp"))
        #expect(try !filter.isExcluded("a.log"), "the context's .dockerignore is not merged in")
    }

    @Test func specificIgnoreFileLivesBesideTheDockerfileNotInTheContext() throws {
        let context = try Context()
        let dockerfile = try context.write("deploy/prod.Dockerfile", "FROM scratch\n")
        try context.write(".dockerignore", "*.log\n")
        // Named after the Dockerfile but at the context root: not the one BuildKit reads.
        try context.write("prod.Dockerfile.dockerignore", "*.md\n")
        // Beside the Dockerfile but named after another Dockerfile.
        try context.write("deploy/Dockerfile.dockerignore", "*.md\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(filter.ignoreFile?.lastPathComponent == ".dockerignore")

        let specific = try context.write("deploy/prod.Dockerfile.dockerignore", "secrets\n!secrets/public.pem\n")
        let preferred = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(preferred.ignoreFile?.standardizedFileURL == specific.standardizedFileURL)
        #expect(try preferred.isExcluded("secrets/private.pem"))
        #expect(try !preferred.isExcluded("secrets/public.pem"))
        #expect(try !preferred.isExcluded("debug.log"))
    }

    @Test func directoryNamedLikeTheIgnoreFileIsNotAnIgnoreFile() throws {
        let context = try Context()
        let dockerfile = try context.write("Dockerfile", "FROM scratch\n")
        try FileManager.default.createDirectory(at: context.root.appendingPathComponent("Dockerfile.dockerignore"),
                                                withIntermediateDirectories: true)
        try context.write(".dockerignore", "*.log\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(filter.ignoreFile?.lastPathComponent == ".dockerignore")
    }

    @Test func noIgnoreFileExcludesNothing() throws {
        let context = try Context()
        let dockerfile = try context.write("Dockerfile", "FROM scratch\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: dockerfile)
        #expect(filter.ignoreFile == nil)
        #expect(filter.matcher.patterns.isEmpty)
        #expect(try !filter.isExcluded("anything/at/all"))
        #expect(!filter.canSkipDirectory("anything"))
    }

    @Test func dockerfileFromStandardInputUsesTheContextIgnoreFile() throws {
        let context = try Context()
        try context.write(".dockerignore", ".git\n")
        let filter = try BuildContextFilter(contextDirectory: context.root, dockerfile: nil)
        #expect(try filter.isExcluded(".git/HEAD"))
    }

    @Test func invalidPatternInTheFileIsReportedWithTheFile() throws {
        let context = try Context()
        let ignore = try context.write(".dockerignore", "ok\n[unclosed\n")
        #expect(throws: IgnoreFileError.invalidPattern(file: ignore.path, .badPattern("[unclosed"))) {
            try BuildContextFilter(contextDirectory: context.root, dockerfile: nil)
        }
    }

    @Test func pathsAreCleanedAndTheRootIsNeverExcluded() throws {
        let filter = BuildContextFilter(matcher: try PatternMatcher(["**", "!keep"]))
        #expect(try filter.isExcluded("./a/b/"))
        #expect(try filter.isExcluded("/a"))
        #expect(try !filter.isExcluded("keep/x"))
        #expect(try !filter.isExcluded("./keep//x/"))
        #expect(try !filter.isExcluded("."))
        #expect(try !filter.isExcluded(""))
        #expect(try !filter.isExcluded("/"))
        #expect(BuildContextFilter.contextRelative("a/b") == "a/b")
        #expect(BuildContextFilter.contextRelative("a/./b/../c/") == "a/c")
    }
}
