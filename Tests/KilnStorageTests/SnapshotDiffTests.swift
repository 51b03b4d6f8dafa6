import Foundation
import Glibc
import KilnArchive
import Testing
@testable import KilnStorage

/// Targeted diff cases: each builds a small tree, changes it, and checks the exact change list.
@Suite struct SnapshotDiffTests {
    /// Runs `change` on a tree made by `setup` and returns the diff.
    private func diff(setup: (String) throws -> Void, change: (String) throws -> Void) async throws -> [LayerChange] {
        try await withTemporaryDirectory { directory in
            let root = directory.path
            try setup(root)
            let before = try await Snapshot.capture(directory)
            try change(root)
            return try await Snapshot.capture(directory).changes(since: before)
        }
    }

    private func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func setMtime(_ path: String, _ time: FileTime) {
        var times = [timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit),
                     timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))]
        utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    @Test func unchangedTreeHasNoChanges() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/d/e", withIntermediateDirectories: true)
            try write(root + "/d/e/f", "x")
            symlink("f", root + "/d/l")
        }, change: { _ in })
        #expect(changes == [])
    }

    @Test func sameSizeSameMtimeRewriteIsCaughtByCtime() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: true)
            try write(root + "/d/f", "aaaa")
            setMtime(root + "/d/f", FileTime(seconds: 1000, nanoseconds: 5))
            setMtime(root + "/d", FileTime(seconds: 1000, nanoseconds: 5))
        }, change: { root in
            let fd = open(root + "/d/f", O_WRONLY)
            _ = Glibc.write(fd, "bbbb", 4)
            close(fd)
            setMtime(root + "/d/f", FileTime(seconds: 1000, nanoseconds: 5))
        })
        #expect(changes == [.write(path: "d"), .write(path: "d/f")])
    }

    @Test func deletionsAreReportedAtTheTopOnly() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/a/b/c", withIntermediateDirectories: true)
            try write(root + "/a/b/c/f", "x")
            try write(root + "/a/g", "x")
        }, change: { root in
            try FileManager.default.removeItem(atPath: root + "/a/b")
        })
        #expect(changes == [.write(path: "a"), .delete(path: "a/b")])
    }

    @Test func directoryBecomingAFileNeedsNoWhiteoutsBelowIt() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/a", withIntermediateDirectories: true)
            try write(root + "/a/x", "x")
        }, change: { root in
            try FileManager.default.removeItem(atPath: root + "/a")
            try write(root + "/a", "file now")
        })
        #expect(changes == [.write(path: "a")])
    }

    @Test func replacedDirectoryIsOpaqueAndFullyWritten() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/a/old", withIntermediateDirectories: true)
            try write(root + "/a/keep", "x")
        }, change: { root in
            try FileManager.default.removeItem(atPath: root + "/a")
            try FileManager.default.createDirectory(atPath: root + "/a", withIntermediateDirectories: true)
            try write(root + "/a/keep", "x")
        })
        #expect(changes == [.write(path: "a"), .opaque(directory: "a"), .write(path: "a/keep")])
    }

    @Test func hardlinkGroupIsWrittenTogether() async throws {
        let changes = try await diff(setup: { root in
            try FileManager.default.createDirectory(atPath: root + "/x", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/y", withIntermediateDirectories: true)
            try write(root + "/x/one", "x")
            link(root + "/x/one", root + "/y/two")
            setMtime(root + "/x", FileTime(seconds: 7, nanoseconds: 0))
            setMtime(root + "/y", FileTime(seconds: 7, nanoseconds: 0))
        }, change: { root in
            let fd = open(root + "/x/one", O_WRONLY | O_APPEND)
            _ = Glibc.write(fd, "more", 4)
            close(fd)
        })
        #expect(changes == [.write(path: "x"), .write(path: "x/one"), .write(path: "y"), .write(path: "y/two")])
    }

    @Test func outputIsInByteOrderWithParentsFirst() async throws {
        let changes = try await diff(setup: { _ in }, change: { root in
            try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
            try write(root + "/a-b", "x")
            try write(root + "/a.b", "x")
            try write(root + "/a/b/c", "x")
        })
        #expect(changes.map(\.path) == ["a", "a-b", "a.b", "a/b", "a/b/c"])
    }
}
