import Foundation
import Glibc
import KilnExecutor
import KilnTestSupport
import Testing

/// The executor's chroot backend on its own: what runc would mount is placed into the rootfs
/// and taken out again, leaving the image's own entries at those paths as they were and a
/// read-write mount's changes in its source.
@Suite("executor: chroot backend", .serialized,
       .enabled(if: geteuid() == 0 && BusyboxRootfs.busybox != nil, "needs root and busybox"))
struct ChrootExecutorTests {
    /// inode, size and mtime of `path` (not following a symlink).
    static func identity(_ path: String) -> [Int]? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return [Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
    }

    /// A busybox rootfs and an empty scratch directory holding `cache/`, both removed afterwards.
    static func withRootfs(_ body: (_ rootfs: URL, _ scratch: URL) async throws -> Void) async throws {
        let rootfs = try BusyboxRootfs.make()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-chroot-exec-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: rootfs)
            try? FileManager.default.removeItem(at: scratch)
        }
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("cache"), withIntermediateDirectories: true)
        try await body(rootfs, scratch)
    }

    @Test("mounts are placed for the step and removed after it; the image's entries there come back unchanged, a cache's changes stay in the cache")
    func placedAndRestored() async throws {
        try await Self.withRootfs { rootfs, scratch in
            try Data("kept\n".utf8).write(to: scratch.appendingPathComponent("cache/old"))
            try Data("the-secret\n".utf8).write(to: scratch.appendingPathComponent("secret"))
            try FileManager.default.createDirectory(at: rootfs.appendingPathComponent("etc"), withIntermediateDirectories: true)
            try Data("10.0.0.1 from-the-image\n".utf8).write(to: rootfs.appendingPathComponent("etc/hosts"))
            try FileManager.default.createDirectory(at: rootfs.appendingPathComponent("dev"), withIntermediateDirectories: true)
            try Data("image file in /dev\n".utf8).write(to: rootfs.appendingPathComponent("dev/keep"))
            try FileManager.default.createDirectory(at: rootfs.appendingPathComponent("c"), withIntermediateDirectories: true)
            try Data("image's own /c\n".utf8).write(to: rootfs.appendingPathComponent("c/image"))
            let watched = ["etc/hosts", "etc", "dev", "dev/keep", "c", "c/image"].map { rootfs.appendingPathComponent($0).path }
            let before = watched.map(Self.identity)

            let step = ExecutionStep(
                rootfs: rootfs,
                arguments: ["/bin/sh", "-c", "grep -c from-the-image /etc/hosts; test -e /dev/keep || echo DEV-FRESH; cat /run/secrets/s; "
                    + "test -e /c/image || echo CACHE-NOT-IMAGE; cat /c/old; echo new > /c/new; echo changed > /run/secrets/s; "
                    + "echo x > /etc/hosts; touch /dev/more"],
                mounts: [.bind(source: scratch.appendingPathComponent("cache"), destination: "/c", readOnly: false),
                         .bind(source: scratch.appendingPathComponent("secret"), destination: "/run/secrets/s", readOnly: true)])
            let lines = Collected()
            let result = try await Executor(backend: .chroot).run(step) { await lines.append($0) }
            let output = await lines.lines.map(\.text)
            #expect(result.exitStatus == 0, "\(output)")
            #expect(output == ["0", "DEV-FRESH", "the-secret", "CACHE-NOT-IMAGE", "kept"], "\(output)")
            #expect(watched.map(Self.identity) == before)
            #expect(Set(result.movedEntries).isSuperset(of: ["/etc/hosts", "/dev", "/c"]), "\(result.movedEntries)")
            #expect(try String(contentsOf: scratch.appendingPathComponent("cache/new"), encoding: .utf8) == "new\n")
            #expect(try String(contentsOf: scratch.appendingPathComponent("secret"), encoding: .utf8) == "the-secret\n")
            #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("run").path))
            #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("proc/self").path))
            let left = try FileManager.default.contentsOfDirectory(atPath: rootfs.deletingLastPathComponent().path)
                .filter { $0.hasPrefix(".\(rootfs.lastPathComponent).chroot-stash") }
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test("a command that does not exist is the executor's error naming it, after the rootfs is put back")
    func missingCommand() async throws {
        let rootfs = try BusyboxRootfs.make()
        defer { try? FileManager.default.removeItem(at: rootfs) }
        let error = await #expect(throws: ExecutorError.self) {
            try await Executor(backend: .chroot).run(ExecutionStep(rootfs: rootfs, arguments: ["no-such-command"]))
        }
        #expect(error?.description.contains("\"no-such-command\": executable file not found in $PATH") == true, "\(String(describing: error))")
        for path in ["dev", "proc", "sys"] {
            #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent(path).path), "\(path) left behind")
        }
    }
}

extension ChrootExecutorTests {
    @Test("a step that replaces a cache mount with a symlink leaves the cache a directory, never the link")
    func cacheReplacedBySymlink() async throws {
        try await Self.withRootfs { rootfs, scratch in
            let cache = scratch.appendingPathComponent("cache")
            let step = ExecutionStep(rootfs: rootfs, arguments: ["/bin/sh", "-c", "rm -rf /c && ln -s / /c"],
                                     mounts: [.bind(source: cache, destination: "/c", readOnly: false)])
            let result = try await Executor(backend: .chroot).run(step)
            #expect(result.exitStatus == 0)
            var info = stat()
            #expect(lstat(cache.path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
            #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("c").path))
        }
    }
}
