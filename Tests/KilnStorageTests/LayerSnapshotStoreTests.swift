import Foundation
import Glibc
import KilnArchive
import KilnOCI
import Testing
@testable import KilnStorage

/// Layer snapshots in the store: one directory per layer, stacked by overlayfs, unpacked only
/// once, and deep stacks mounted past the page `mount(2)` takes.
@Suite(.serialized) struct LayerSnapshotStoreTests {
    private static var canMount: Bool { geteuid() == 0 }

    @Test("each layer is unpacked once into its own snapshot; a stack of them shows the layers applied in order",
          .enabled(if: canMount))
    func stackUnpacksEachLayerOnce() async throws {
        try await withTemporaryDirectory { directory in
            let log = UnpackLog()
            let root = KilnRoot(url: directory.appendingPathComponent("root"))
            let store = SnapshotStore(root: root, unpack: TestLayers.unpacker(log))
            let bottom = try TestLayers.make("bottom", in: directory, files: ["a": "1", "d/b": "2"])
            let top = try TestLayers.make("top", in: directory, files: ["a": "changed", "d/c": "3"])
            let stack = try await store.layerStack([bottom, top])
            #expect(stack.count == 2)
            #expect(store.unpacked.value == 2)
            // The top snapshot holds only what its layer changed.
            #expect(!FileManager.default.fileExists(atPath: stack[1].appendingPathComponent("d/b").path))
            let again = try await store.layerStack([bottom, top])
            #expect(again == stack)
            #expect(await log.blobs.count == 2)
            #expect(store.missingLayerSnapshots([bottom, top]).isEmpty)
            // Each snapshot's size is recorded as it is made: the disk budget never walks it.
            for snapshot in stack {
                let record = try String(contentsOfFile: snapshot.path + ".size", encoding: .utf8)
                #expect((UInt64(record) ?? 0) > 0)
            }
            // Evicting goes through a temp name: nothing is left under either name.
            let evicted = store.evict(freeing: .max, usedBefore: Date().addingTimeInterval(60))
            #expect(evicted.count == 2)
            let left = try FileManager.default.contentsOfDirectory(atPath: store.layerSnapshots.path)
            #expect(!left.contains { $0.count == 64 || $0.hasPrefix(".tmp-") || $0.hasSuffix(".size") || $0.hasSuffix(".boot") }, "\(left)")
            #expect(!store.missingLayerSnapshots([bottom, top]).isEmpty)
            let restacked = try await store.layerStack([bottom, top])
            #expect(await log.blobs.count == 4)

            let scratch = directory.appendingPathComponent("scratch")
            let view = try store.readOnlyView(of: restacked, scratch: scratch)
            defer { MountTable.detachAll(under: scratch.path) }
            #expect(try String(contentsOf: view.appendingPathComponent("a"), encoding: .utf8) == "changed")
            #expect(try String(contentsOf: view.appendingPathComponent("d/b"), encoding: .utf8) == "2")
            #expect(try String(contentsOf: view.appendingPathComponent("d/c"), encoding: .utf8) == "3")
            #expect(open(view.appendingPathComponent("new").path, O_CREAT | O_WRONLY, 0o644) == -1)  // read-only
        }
    }

    @Test("a snapshot made unsynced in an earlier boot is never stacked: it is unpacked again, and the sweep removes it; an old one of this boot is synced and promoted",
          .enabled(if: canMount))
    func snapshotOfEarlierBootIsNotTrusted() async throws {
        try await withTemporaryDirectory { directory in
            let log = UnpackLog()
            let root = KilnRoot(url: directory.appendingPathComponent("root"))
            let store = SnapshotStore(root: root, unpack: TestLayers.unpacker(log))
            let bottom = try TestLayers.make("bottom", in: directory, files: ["a": "1"])
            let top = try TestLayers.make("top", in: directory, files: ["b": "2"])
            let stack = try await store.layerStack([bottom, top])
            let thisBoot = try #require(SnapshotDurability.bootID)
            // Made without a sync: marked with this boot, and used as they are.
            for snapshot in stack { #expect(SnapshotDurability.markedBoot(of: snapshot) == thisBoot) }
            #expect(store.missingLayerSnapshots([bottom, top]).isEmpty)

            // As a power cut leaves it: the top snapshot's marker names another boot, its file torn.
            let otherBoot = "00000000-0000-4000-8000-000000000000"
            let marker = SnapshotDurability.marker(of: stack[1])
            func markEarlierBoot() {
                unlink(marker)
                #expect(symlink(otherBoot, marker) == 0)
            }
            markEarlierBoot()
            try Data().write(to: stack[1].appendingPathComponent("b"))
            #expect(store.missingLayerSnapshots([bottom, top]) == [1])
            let again = try await store.layerStack([bottom, top])
            #expect(again == stack)
            #expect(await log.blobs.count == 3)
            #expect(try String(contentsOf: again[1].appendingPathComponent("b"), encoding: .utf8) == "2")
            #expect(SnapshotDurability.markedBoot(of: again[1]) == thisBoot)

            // The sweep at a build's start removes a stale snapshot (and its marker)...
            markEarlierBoot()
            store.sweep()
            var info = stat()
            #expect(lstat(stack[1].path, &info) == -1 && errno == ENOENT)
            #expect(lstat(marker, &info) == -1 && errno == ENOENT)
            // ...and leaves this boot's alone until they are old enough, then syncs and promotes them.
            #expect(SnapshotDurability.markedBoot(of: stack[0]) == thisBoot)
            store.sweep(promotingOlderThan: 0)
            for _ in 0..<200 where SnapshotDurability.markedBoot(of: stack[0]) != nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(SnapshotDurability.markedBoot(of: stack[0]) == nil)
            #expect(SnapshotDurability.isUsable(stack[0]))
            #expect(store.missingLayerSnapshots([bottom]).isEmpty)
        }
    }

    @Test("a stack whose options exceed mount(2)'s page is mounted through fsconfig, every lower visible",
          .enabled(if: canMount))
    func deepStackMountsThroughFSConfig() async throws {
        try await withTemporaryDirectory { directory in
            let long = String(repeating: "l", count: 90)
            var lowers: [String] = []
            for index in 0..<60 {
                let lower = directory.appendingPathComponent("\(long)-\(index)")
                try FileManager.default.createDirectory(at: lower, withIntermediateDirectories: true)
                try Data("\(index)".utf8).write(to: lower.appendingPathComponent("file-\(index)"))
                try Data("\(index)".utf8).write(to: lower.appendingPathComponent("shared"))
                lowers.append(lower.path)
            }
            #expect(try Overlay.options(lowers: lowers, upper: nil, work: nil).utf8.count > Overlay.legacyOptionLimit)
            let target = directory.appendingPathComponent("merged")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            // Topmost first: lower 59 is on top.
            try Overlay.mount(lowers: lowers.reversed(), upper: nil, work: nil, at: target.path)
            defer { try? Overlay.unmount(target.path) }
            for index in 0..<60 {
                #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("file-\(index)").path))
            }
            #expect(try String(contentsOf: target.appendingPathComponent("shared"), encoding: .utf8) == "59")
        }
    }

    @Test("keeping an upper: mtimes cut to whole seconds, sockets and copy-up markers gone, opaque kept",
          .enabled(if: canMount))
    func keptUpperIsConformed() async throws {
        try await withTemporaryDirectory { directory in
            let root = KilnRoot(url: directory.appendingPathComponent("root"))
            let store = SnapshotStore(root: root)
            let upper = directory.appendingPathComponent("upper")
            try FileManager.default.createDirectory(at: upper.appendingPathComponent("d"), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: upper.appendingPathComponent("d/f"))
            var times = [timespec(tv_sec: 0, tv_nsec: LinuxCalls.utimeOmit), timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)]
            #expect(utimensat(AT_FDCWD, upper.appendingPathComponent("d/f").path, &times, 0) == 0)
            #expect(LinuxCalls.lsetxattr(upper.appendingPathComponent("d").path, "trusted.overlay.opaque", "y", 1, 0) == 0)
            #expect(LinuxCalls.lsetxattr(upper.appendingPathComponent("d/f").path, "trusted.overlay.origin", "o", 1, 0) == 0)
            let socketPath = upper.appendingPathComponent("d/agent.sock").path
            let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socketFD) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                _ = socketPath.utf8CString.withUnsafeBytes { memcpy(buffer.baseAddress!, $0.baseAddress!, min(buffer.count, $0.count)) }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)

            let chain = Digest("sha256:" + String(repeating: "ab", count: 32))!
            let kept = try await store.keep(upper: upper, as: chain)
            #expect(kept == store.layerSnapshotPath(for: chain))
            #expect(!FileManager.default.fileExists(atPath: upper.path))
            let file = try #require(try TreeWalker.readMetadata(absolutePath: kept.appendingPathComponent("d/f").path))
            #expect(file.mtime == FileTime(seconds: 1_700_000_000, nanoseconds: 0))
            #expect(file.xattrs.isEmpty && file.overlayMarkers.isEmpty && file.hostXattrs.isEmpty)
            let d = try #require(try TreeWalker.readMetadata(absolutePath: kept.appendingPathComponent("d").path))
            #expect(d.overlayMarkers["trusted.overlay.opaque"] == Array("y".utf8))
            #expect(d.mtime.nanoseconds == 0)
            #expect(!FileManager.default.fileExists(atPath: kept.appendingPathComponent("d/agent.sock").path))
        }
    }
}
