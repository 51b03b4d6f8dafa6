import Foundation
import KilnArchive
import KilnOCI
import Testing
@testable import KilnStorage

/// Counts layer applications, so tests can see what was built incrementally.
actor UnpackLog {
    private(set) var blobs: [String] = []
    func record(_ blob: URL) { blobs.append(blob.lastPathComponent) }
}

/// Layers written with KilnArchive's `LayerWriter` from directories made in the test.
enum TestLayers {
    static func make(_ name: String, in directory: URL, files: [String: String]) throws -> LayerReference {
        let source = directory.appendingPathComponent("src-\(name)")
        for (path, text) in files {
            let url = source.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let blob = directory.appendingPathComponent("\(name).tar.gz")
        let result = try LayerWriter(compression: .gzip()).write(directory: source, to: blob)
        return LayerReference(blob: blob, diffID: result.diffID)
    }

    /// KilnArchive's applier, logging which blobs it applied.
    static func unpacker(_ log: UnpackLog) -> LayerUnpacker {
        { blob, directory in
            await log.record(blob)
            return try LayerApplier().apply(layer: blob, to: directory).diffID
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
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TestLayers.unpacker(log))
            let base = try TestLayers.make("base", in: directory, files: ["etc/os": "kiln", "bin/sh": "#!"])
            let app = try TestLayers.make("app", in: directory, files: ["app/main": "run", "etc/os": "changed"])

            let baseDirectory = try await store.materialize([base])
            #expect(baseDirectory.lastPathComponent == base.diffID.encoded)
            let chain = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<6 { group.addTask { try await store.materialize([base, app]).path } }
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
            #expect(await log.blobs == ["base.tar.gz", "app.tar.gz"])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).filter { $0.hasPrefix(".tmp-") }
            #expect(leftovers == [])
        }
    }

    @Test(arguments: [true, false])
    func rootfsChangesAreTheSameInBothModes(allowOverlay: Bool) async throws {
        try await withTemporaryDirectory { directory in
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TestLayers.unpacker(UnpackLog()))
            let base = try TestLayers.make("base", in: directory, files: [
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
            // The step's layer, applied on the chain, gives the rootfs as the step left it.
            let layerBlob = directory.appendingPathComponent("step.tar")
            let written = try LayerWriter(compression: .none).write(changes: changes, from: rootfs.path, to: layerBlob)
            let step = LayerReference(blob: layerBlob, diffID: written.diffID)
            let rebuilt = try await store.materialize([base, step])
            #expect(try await treeDifferences(rootfs.path, rebuilt, throughLayer: true) == [])

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
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")), unpack: TestLayers.unpacker(UnpackLog()))
            let base = try TestLayers.make("base", in: directory, files: ["f": "x"])
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

    @Test func pruneKeepsOnlyTheGivenChains() async throws {
        try await withTemporaryDirectory { directory in
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
            let one = try TestLayers.make("one", in: directory, files: ["a": "1"])
            let two = try TestLayers.make("two", in: directory, files: ["b": "2"])
            _ = try await store.materialize([one])
            _ = try await store.materialize([one, two])
            let kept = ChainID.of([one.diffID, two.diffID])!
            #expect(try store.prune(keeping: [kept]) == [one.diffID])
            #expect(FileManager.default.fileExists(atPath: store.path(for: kept).path + "/b"))
            #expect(!FileManager.default.fileExists(atPath: store.path(for: one.diffID).path))
        }
    }

    @Test func layerNotMatchingItsDiffIDIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let store = SnapshotStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
            var layer = try TestLayers.make("base", in: directory, files: ["f": "x"])
            layer.diffID = Digest.sha256(of: Array("something else".utf8))
            await #expect(throws: StorageError.self) { try await store.materialize([layer]) }
            #expect(!FileManager.default.fileExists(atPath: store.path(for: layer.diffID).path))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).filter { $0.hasPrefix(".tmp-") }
            #expect(leftovers == [])
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
