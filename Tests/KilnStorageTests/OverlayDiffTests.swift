import Foundation
import Glibc
import KilnArchive
import Testing
@testable import KilnStorage

/// The upper-directory diff on a hand-made upper directory, without mounting anything.
@Suite struct OverlayDiffTests {
    @Test func whiteoutsAndOpaqueDirectoriesBecomeLayerChanges() async throws {
        try await withTemporaryDirectory { upper in
            let root = upper.path
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/var/cache", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/etc/hosts"))
            try Data("y".utf8).write(to: URL(fileURLWithPath: root + "/var/cache/new"))
            // A whiteout: character device 0/0.
            #expect(mknod(root + "/etc/removed", S_IFCHR | 0o000, 0) == 0)
            // An opaque directory.
            let opaque = Array("y".utf8)
            #expect(opaque.withUnsafeBytes {
                LinuxCalls.lsetxattr(root + "/var/cache", "trusted.overlay.opaque", $0.baseAddress, $0.count, 0)
            } == 0)
            // A real character device is a write, not a whiteout.
            #expect(mknod(root + "/null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0)

            let changes = try await Snapshot.overlayChanges(upper: upper, lowers: [])
            #expect(changes == [
                .write(path: "etc"), .write(path: "etc/hosts"), .delete(path: "etc/removed"),
                .write(path: "null"),
                .write(path: "var"), .write(path: "var/cache"), .opaque(directory: "var/cache"), .write(path: "var/cache/new"),
            ])
        }
    }

    @Test func redirectedDirectoriesAreRefused() async throws {
        try await withTemporaryDirectory { upper in
            try FileManager.default.createDirectory(atPath: upper.path + "/moved", withIntermediateDirectories: true)
            let target = Array("/original".utf8)
            _ = target.withUnsafeBytes {
                LinuxCalls.lsetxattr(upper.path + "/moved", "trusted.overlay.redirect", $0.baseAddress, $0.count, 0)
            }
            await #expect(throws: StorageError.self) { try await Snapshot.overlayChanges(upper: upper, lowers: []) }
        }
    }
}
