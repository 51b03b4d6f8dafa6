import Foundation
@testable import KilnArchive
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PathContainmentTests {
    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

    @Test func resolvingDoesNotLeakDescriptors() throws {
        let scratch = try Scratch()
        let root = try ContainedRoot(path: try scratch.directory("root").path)
        let before = Self.openDescriptorCount()
        for index in 0..<300 {
            let fd = try root.openDirectory(["a", "b", "c\(index % 3)"], create: true)
            close(fd)
        }
        // Other suites run in parallel and open files too; a leak here would add 300 or more.
        #expect(Self.openDescriptorCount() - before < 100)
    }

    @Test func symlinksResolveInsideTheRoot() throws {
        let scratch = try Scratch()
        let rootURL = try scratch.directory("root")
        try FileManager.default.createDirectory(at: rootURL.appendingPathComponent("usr/lib"), withIntermediateDirectories: true)
        symlink("usr/lib", rootURL.appendingPathComponent("lib").path)
        symlink("/usr", rootURL.appendingPathComponent("abs").path)
        symlink("../../../../..", rootURL.appendingPathComponent("usr/up").path)
        let root = try ContainedRoot(path: rootURL.path)
        for (components, expected) in [(["lib"], "usr/lib"), (["abs", "lib"], "usr/lib"), (["usr", "up", "usr"], "usr")] {
            let fd = try root.openDirectory(components, create: false)
            defer { close(fd) }
            var viaSymlinks = stat(), direct = stat()
            fstat(fd, &viaSymlinks)
            stat(rootURL.appendingPathComponent(expected).path, &direct)
            #expect(viaSymlinks.st_ino == direct.st_ino, "\(components)")
        }
    }
}
