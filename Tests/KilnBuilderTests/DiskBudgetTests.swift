import Foundation
import Glibc
import KilnBuilder
import KilnFileOps
import KilnStorage
import KilnTestSupport
import Testing

/// The disk budget (issue 15): snapshots and blobs stay within it, least recently used first,
/// and least recently used snapshots go before the disk reserve would stop a build.
@Suite("disk budget and least-recently-used eviction", .serialized)
struct DiskBudgetTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// Builds `dockerfile` on `root` with the harness's busybox; returns the result and the info lines.
    func build(_ dockerfile: String, on root: KilnRoot) async throws -> (BuildResult, [String]) {
        let log = EventLog()
        let result = try await Builder(root: root, fileOperations: CopyOperations()).build(harness.request(dockerfile)) { log.append($0) }
        let infos = log.events.compactMap { event -> String? in
            if case .info(let text) = event { return text }
            return nil
        }
        return (result, infos)
    }

    func layerSnapshots(_ root: KilnRoot) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: root.snapshots.appendingPathComponent("layers").path)) ?? [])
            .filter { $0.count == 64 })
    }

    @Test("over budget, a build's start removes the least recently used snapshots, entries and blobs; what they held is built again")
    func budgetEvictsLeastRecentlyUsed() async throws {
        let root = KilnRoot(url: harness.root.url, budget: DiskBudget(limit: .absolute(3 << 20)))
        let first = "FROM busybox\nRUN head -c 2000000 /dev/urandom > /a && echo first > /which\n"
        let (_, quiet) = try await build(first, on: root)
        #expect(!quiet.contains { $0.hasPrefix("disk budget") })
        let firstSnapshots = layerSnapshots(root)
        #expect(firstSnapshots.count == 2)
        sleep(2)  // last uses are whole seconds
        let (_, infos) = try await build("FROM busybox\nRUN head -c 2000000 /dev/urandom > /b\n", on: root)
        let line = try #require(infos.first { $0.hasPrefix("disk budget 3.0 MiB") }, "\(infos)")
        #expect(line.contains("removed the least recently used"))
        // The first build's RUN snapshot and its cache entry went; the base is stacked again by the second build.
        #expect(layerSnapshots(root).intersection(firstSnapshots).count <= 1)
        let (again, _) = try await build(first, on: root)
        let bundle = try await harness.unpack(again)
        #expect(try String(contentsOf: bundle.appendingPathComponent("rootfs/which"), encoding: .utf8) == "first\n")
    }

    @Test("a build short of the disk reserve removes least recently used snapshots no live build uses, and succeeds",
          .enabled(if: geteuid() == 0))
    func reserveEvictsSnapshotsBeforeStopping() async throws {
        let mountPoint = harness.directory.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        _ = try ProcessRunner.checked("mount", ["-t", "tmpfs", "-o", "size=100m", "tmpfs", mountPoint.path])
        defer { _ = try? ProcessRunner.run(URL(fileURLWithPath: "/bin/umount"), ["-l", mountPoint.path]) }
        let root = KilnRoot(url: mountPoint.appendingPathComponent("root"),
                            reserve: DiskReserve(space: .absolute(10 << 20), inodes: .absolute(0)), budget: .unlimited)
        // 30 MB that does not compress: a 30 MB blob and a 30 MB snapshot.
        _ = try await build("FROM busybox\nRUN head -c 30000000 /dev/urandom > /random\n", on: root)
        let before = layerSnapshots(root)
        sleep(2)
        // 36 MB of zeros: a 36 MB snapshot and a tiny blob, which only fit once the first build's snapshot is gone.
        let (result, infos) = try await build("FROM busybox\nRUN head -c 36000000 /dev/zero > /zeros\n", on: root)
        #expect(infos.contains { $0.hasPrefix("disk reserve: removed the") }, "\(infos)")
        #expect(before.subtracting(layerSnapshots(root)).count == 1)
        let bundle = try await harness.unpack(result)
        let size = (try? FileManager.default.attributesOfItem(atPath: bundle.appendingPathComponent("rootfs/zeros").path)[.size]) as? Int
        #expect(size == 36_000_000)
    }
}
