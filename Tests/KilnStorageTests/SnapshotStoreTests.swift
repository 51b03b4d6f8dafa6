import Foundation
import Glibc
import KilnArchive
import KilnOCI
import KilnTestSupport
import Testing
@testable import KilnStorage

/// Counts layer applications, so tests can see what was built incrementally.
actor UnpackLog {
    private(set) var blobs: [String] = []
    func record(_ blob: URL) { blobs.append(blob.lastPathComponent) }
}

/// A layer made with the system `tar` from a directory, and a matching unpacker.
enum TarLayers {
    static func make(_ name: String, in directory: URL, files: [String: String], directories: [String] = []) throws -> LayerReference {
        let source = directory.appendingPathComponent("src-\(name)")
        for path in directories {
            try FileManager.default.createDirectory(at: source.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        for (path, text) in files {
            let url = source.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let blob = directory.appendingPathComponent("\(name).tar")
        let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-C", source.path, "-cf", blob.path, "."])
        guard result.status == 0 else { throw StorageError.system(operation: "tar", path: blob.path, errno: EIO) }
        return LayerReference(blob: blob, diffID: Digest.sha256(of: try Data(contentsOf: blob)))
    }

    static func unpacker(_ log: UnpackLog) -> LayerUnpacker {
        { blob, directory in
            await log.record(blob)
            let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"),
                                               ["-C", directory.path, "-xpf", blob.path, "--xattrs", "--xattrs-include=*"])
            guard result.status == 0 else { throw StorageError.system(operation: "untar", path: blob.path, errno: EIO) }
        }
    }
}

@Suite(.serialized) struct SnapshotStoreTests {
    private static func isMounted(_ path: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(" \(path) ")
    }

    @Test func chainDirectoryIsBuiltOnceAndOnTopOfItsParent() async throws {
        try await withTemporaryDirectory { directory in
            let log = UnpackLog()
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TarLayers.unpacker(log))
            let base = try TarLayers.make("base", in: directory, files: ["etc/os": "kiln", "bin/sh": "#!"])
            let app = try TarLayers.make("app", in: directory, files: ["app/main": "run", "etc/os": "changed"])

            let baseDirectory = try await store.materialize([base])
            #expect(baseDirectory.lastPathComponent == base.diffID.encoded)
            let chain = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<4 { group.addTask { try await store.materialize([base, app]).path } }
                var results: Set<String> = []
                for try await url in group { results.insert(url) }
                return results
            }
            let chainID = ChainID.of([base.diffID, app.diffID])!
            #expect(chain == [store.path(for: chainID).path])
            #expect(chainID == Digest.sha256(of: Array("\(base.diffID) \(app.diffID)".utf8)))
            #expect(try String(contentsOf: store.path(for: chainID).appendingPathComponent("etc/os"), encoding: .utf8) == "changed")
            #expect(try String(contentsOf: baseDirectory.appendingPathComponent("etc/os"), encoding: .utf8) == "kiln")
            // base once, then only app on a copy of base, however many builders asked.
            #expect(await log.blobs == ["base.tar", "app.tar"])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).filter { $0.hasPrefix(".tmp-") }
            #expect(leftovers == [])
        }
    }

    @Test(arguments: [true, false])
    func rootfsChangesAreTheSameInBothModes(allowOverlay: Bool) async throws {
        try await withTemporaryDirectory { directory in
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TarLayers.unpacker(UnpackLog()))
            let base = try TarLayers.make("base", in: directory, files: [
                "etc/os": "kiln", "etc/gone": "x", "var/lib/old/a": "a", "usr/keep": "k", "tmp/x/y": "y",
            ])
            let scratch = directory.appendingPathComponent("tmp")
            let rootfs = try await store.makeRootfs([base], scratch: scratch, allowOverlay: allowOverlay)
            #expect(rootfs.mode == (allowOverlay ? .overlay : .copy))
            let root = rootfs.path.path
            try Data("edited".utf8).write(to: rootfs.path.appendingPathComponent("etc/os"))
            try FileManager.default.removeItem(atPath: root + "/etc/gone")
            try FileManager.default.removeItem(atPath: root + "/var/lib/old")
            try FileManager.default.createDirectory(atPath: root + "/var/lib/old", withIntermediateDirectories: false)
            try Data("new".utf8).write(to: URL(fileURLWithPath: root + "/var/lib/old/b"))
            try FileManager.default.removeItem(atPath: root + "/tmp/x")
            try Data("n".utf8).write(to: URL(fileURLWithPath: root + "/new"))

            let changes = try await rootfs.changes()
            #expect(changes == [
                .write(path: "etc"), .delete(path: "etc/gone"), .write(path: "etc/os"),
                .write(path: "new"),
                .write(path: "tmp"), .delete(path: "tmp/x"),
                .write(path: "var"), .write(path: "var/lib"),
                .write(path: "var/lib/old"), .opaque(directory: "var/lib/old"), .write(path: "var/lib/old/b"),
            ])
            try rootfs.release()
            try rootfs.release()
            #expect(!Self.isMounted(root))
            #expect(!FileManager.default.fileExists(atPath: rootfs.scratch.path))
            // The cached chain directory is untouched.
            let lower = try await store.materialize([base])
            #expect(try String(contentsOf: lower.appendingPathComponent("etc/os"), encoding: .utf8) == "kiln")
        }
    }

    @Test(arguments: [true, false])
    func withRootfsReleasesOnError(allowOverlay: Bool) async throws {
        struct StepFailed: Error {}
        try await withTemporaryDirectory { directory in
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TarLayers.unpacker(UnpackLog()))
            let base = try TarLayers.make("base", in: directory, files: ["f": "x"])
            let scratch = directory.appendingPathComponent("tmp")
            nonisolated(unsafe) var seen: Rootfs?
            await #expect(throws: StepFailed.self) {
                try await store.withRootfs([base], scratch: scratch, allowOverlay: allowOverlay) { rootfs in
                    seen = rootfs
                    throw StepFailed()
                }
            }
            let rootfs = try #require(seen)
            #expect(!Self.isMounted(rootfs.path.path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("rootfs-") } == [])
        }
    }

    @Test func copyModePreservesHardlinksSymlinksOwnersAndXattrs() async throws {
        try await withTemporaryDirectory { directory in
            let source = directory.appendingPathComponent("source")
            var tree = RandomTree(seed: 99, root: source)
            try FileManager.default.createDirectory(at: source, withIntermediateDirectories: false)
            try tree.populate()
            let copy = directory.appendingPathComponent("copy")
            try await TreeCopier.copy(from: source, to: copy)
            #expect(try await treeDifferences(source, copy) == [])
        }
    }
}
