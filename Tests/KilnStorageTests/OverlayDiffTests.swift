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

            try await withTemporaryDirectory { lower in
                // The lower has var/cache: the marker hides its entries.
                try FileManager.default.createDirectory(atPath: lower.path + "/var/cache/old", withIntermediateDirectories: true)
                let changes = try await Snapshot.overlayChanges(upper: upper, lowers: [lower])
                #expect(changes == [
                    .write(path: "etc"), .write(path: "etc/hosts"), .delete(path: "etc/removed"),
                    .write(path: "null"),
                    .write(path: "var"), .write(path: "var/cache"), .opaque(directory: "var/cache"), .write(path: "var/cache/new"),
                ])
                // No lower has it (nor one above a whiteout of it): the marker hides nothing and is left out.
                try FileManager.default.removeItem(atPath: lower.path + "/var")
                let unmarked = try await Snapshot.overlayChanges(upper: upper, lowers: [lower])
                #expect(!unmarked.contains(.opaque(directory: "var/cache")))
                #expect(unmarked.contains(.write(path: "var/cache/new")))
            }
        }
    }

    @Test("a file overlayfs only copied up (same mode, owner, size, mtime and bytes as the lower's) is no change")
    func unchangedCopyUpIsNoChange() async throws {
        try await withTemporaryDirectory { upper in
            try await withTemporaryDirectory { lower in
                for (name, lowerText, upperText) in [("lock", "same", "same"), ("edited", "old!", "new!"), ("tagged", "same", "same")] {
                    try Data(lowerText.utf8).write(to: lower.appendingPathComponent(name))
                    try Data(upperText.utf8).write(to: upper.appendingPathComponent(name))
                    // Copy-up keeps the mtime; an edit that restores it (touch -r) must still count.
                    let time = Date(timeIntervalSince1970: 1_000_000)
                    for root in [lower, upper] {
                        try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: root.appendingPathComponent(name).path)
                    }
                }
                // Only an xattr changed (setcap on a file, say): a change, as copy mode sees it by its ctime.
                let value = Array("cap".utf8)
                #expect(value.withUnsafeBytes {
                    LinuxCalls.lsetxattr(upper.path + "/tagged", "user.kiln.test", $0.baseAddress, $0.count, 0)
                } == 0)
                let changes = try await Snapshot.overlayChanges(upper: upper, lowers: [lower])
                #expect(changes == [.write(path: "edited"), .write(path: "tagged")])
            }
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
