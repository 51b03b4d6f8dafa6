import Foundation
import KilnCache
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport
import Testing

/// Cache mount states in a real registry: what an import may write (nothing outside the
/// cache, whatever the index or the directory holds), and two builders exporting one id at
/// once (a third sees one complete state).
@Suite("cache mount states: containment and concurrent exports",
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct CacheMountSyncTests {
    /// A fresh folder, removed by the caller.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-mount-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func entry(_ path: String, _ kind: CacheMountIndex.Entry.Kind, content: String? = nil, target: String? = nil)
        -> CacheMountIndex.Entry {
        let data = Data((content ?? "").utf8)
        return CacheMountIndex.Entry(
            path: path, kind: kind, mode: kind == .directory ? 0o755 : 0o644, uid: 0, gid: 0,
            mtime: FileTime(seconds: 1_600_000_000, nanoseconds: 5), size: Int64(data.count),
            digest: data.isEmpty ? nil : Digest.sha256(of: data), target: target)
    }

    static func index(_ entries: [CacheMountIndex.Entry]) -> CacheMountIndex {
        CacheMountIndex(id: "m2", created: "2026-01-01T00:00:00Z", generation: 1, root: entry("", .directory), entries: entries)
    }

    @Test("an index naming a path outside the cache is refused before anything is written",
          arguments: ["../escape", "/etc/passwd", "a/../../escape", "a//b", "./x", "a/."])
    func pathsOutside(path: String) throws {
        #expect(throws: CacheMountIndex.Invalid.self) {
            try Self.index([Self.entry(path, .file, content: "x")]).validated()
        }
    }

    @Test("links in the index or already in the cache never lead a write or a read outside it")
    func linksStayInside() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outside = folder.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("host secret\n".utf8).write(to: outside.appendingPathComponent("secret"))
        let store = CacheMountStore(directory: folder.appendingPathComponent("cache-mounts"))
        let cache = store.path(of: "m2")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        // A step of an earlier build left a link to the host in the cache.
        try FileManager.default.createSymbolicLink(atPath: cache.appendingPathComponent("planted").path, withDestinationPath: outside.path)

        let contents = ["escape via index link": "owned", "escape via planted link": "owned", "inside": "fine"]
        let index = Self.index([
            Self.entry("hop", .symlink, target: outside.path),
            Self.entry("hop/written", .file, content: contents["escape via index link"]),
            Self.entry("planted/written", .file, content: contents["escape via planted link"]),
            Self.entry("inside", .file, content: contents["inside"]),
        ])
        let result = try await store.apply(index, indexDigest: Digest.sha256(of: Data()), from: "test", to: cache,
                                           staging: folder.appendingPathComponent("staging")) { blob, file in
            let text = contents.values.first { Digest.sha256(of: Data($0.utf8)) == blob.digest }!
            try Data(text.utf8).write(to: file)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["secret"])
        #expect(try String(contentsOf: cache.appendingPathComponent("inside"), encoding: .utf8) == "fine")
        #expect(result.kept == 2, "\(result)")

        // An export reads no file through a link either: the links are described as links.
        let state = try await store.describe(cache, id: "m2", created: "now", generation: 1)
        #expect(state.index.entries.filter { $0.kind == .file }.map(\.path) == ["inside"])
        #expect(Set(state.index.entries.filter { $0.kind == .symlink }.map(\.path)) == ["hop", "planted"])
    }

    /// A directory of `count` files named `prefix-N`.
    static func fill(_ directory: URL, prefix: String, count: Int) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for number in 0..<count {
            try Data("\(prefix) \(number)\n".utf8).write(to: directory.appendingPathComponent("\(prefix)-\(number)"))
        }
    }

    /// The backend of `registry`'s `ci/cache` and a maker of one machine's cache mount sync
    /// (its own folder under `folder`) reading and writing it.
    static func machines(_ registry: TestRegistry, in folder: URL, info: @escaping @Sendable (String) -> Void = { _ in })
        -> (backend: RegistryCacheBackend, sync: (String) -> CacheMountSync) {
        let backend = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "ci/cache")
        let sources = [CacheSource(backend, mode: .readWrite)]
        return (backend, { machine in
            CacheMountSync(directory: folder.appendingPathComponent("\(machine)/cache-mounts"), sources: sources,
                           selection: .all, maximumSize: nil, info: info, warning: { Issue.record("warning: \($0)") })
        })
    }

    @Test("two builders exporting one id at once: a third imports one complete state")
    func concurrentExports() async throws {
        try await withTestRegistry { registry in
            let folder = try Self.folder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let sync = Self.machines(registry, in: folder).sync
            let x = sync("x")
            let y = sync("y")
            try Self.fill(x.store.path(of: "m2"), prefix: "x", count: 40)
            try Self.fill(y.store.path(of: "m2"), prefix: "y", count: 40)
            _ = await x.claimImport(of: "m2")
            _ = await y.claimImport(of: "m2")
            async let exportX: Void = x.finish(created: "2026-01-01T00:00:00Z")
            async let exportY: Void = y.finish(created: "2026-01-01T00:00:01Z")
            _ = await (exportX, exportY)

            let z = sync("z")
            #expect(await z.claimImport(of: "m2"))
            let target = z.store.path(of: "m2")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            await z.importState(of: "m2", into: target)
            let names = Set(try FileManager.default.contentsOfDirectory(atPath: target.path))
            let xs = Set((0..<40).map { "x-\($0)" })
            let ys = Set((0..<40).map { "y-\($0)" })
            #expect(names == xs || names == ys || names == xs.union(ys), "\(names.sorted())")
            for name in names {
                let prefix = name.split(separator: "-")[0]
                let number = name.split(separator: "-")[1]
                #expect(try String(contentsOf: target.appendingPathComponent(name), encoding: .utf8) == "\(prefix) \(number)\n")
            }
        }
    }

    @Test("prune: states past their age are deleted, oversized ones replaced by a capped generation; a registry refusing deletes is said, not an error",
          arguments: [true, false])
    func prune(deletes: Bool) async throws {
        try await withTestRegistry(deletes: deletes) { registry in
            let folder = try Self.folder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let backend = RegistryCacheBackend(client: RegistryClient(registry: registry.host), repository: "ci/cache")
            let sync = CacheMountSync(directory: folder.appendingPathComponent("cache-mounts"), sources: [CacheSource(backend, mode: .readWrite)],
                                      selection: .all, maximumSize: nil, info: { _ in }, warning: { Issue.record("warning: \($0)") })
            for id in ["old", "big"] {
                try Self.fill(sync.store.path(of: id), prefix: id, count: 10)
                _ = await sync.claimImport(of: id)
            }
            await sync.finish(created: "2026-01-01T00:00:00Z")
            // Make "old" old: export it again with an old date after a change.
            try Data("changed\n".utf8).write(to: sync.store.path(of: "old").appendingPathComponent("old-0"))
            let again = CacheMountSync(directory: folder.appendingPathComponent("cache-mounts"), sources: [CacheSource(backend, mode: .readWrite)],
                                       selection: .ids(["old"]), maximumSize: nil, info: { _ in }, warning: { Issue.record("warning: \($0)") })
            _ = await again.claimImport(of: "old")
            await again.finish(created: "2000-01-01T00:00:00Z")

            let report = try await backend.pruneMounts(createdBefore: Date(timeIntervalSince1970: 1_000_000_000), maximumSize: 30)
            #expect(report.deleted == (deletes ? 1 : 0))
            #expect(report.undeletable == (deletes ? 0 : 1))
            #expect(report.capped == 1)
            let old = try await backend.fetchMountState("old", known: nil)
            #expect((old == nil) == deletes)
            let big = try #require(try await backend.fetchMountState("big", known: nil))
            #expect(big.index.contentSize <= 30 && big.index.contentSize > 0)
            #expect(big.index.generation == 2)
        }
    }

    /// Collects a sync's info lines.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test("a file another cache id of the machine already has is copied, not downloaded: blobs are shared across ids")
    func sharedAcrossIDs() async throws {
        try await withTestRegistry { registry in
            let folder = try Self.folder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let lines = Lines()
            let sync = Self.machines(registry, in: folder, info: { lines.add($0) }).sync
            let first = sync("first")
            for (id, files) in [("maven", ["shared.jar": "the same jar\n", "only-maven.pom": "maven\n"]),
                                ("gradle", ["shared.jar": "the same jar\n", "only-gradle.txt": "gradle\n"])] {
                let directory = first.store.path(of: id)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
                _ = await first.claimImport(of: id)
            }
            await first.finish(created: "2026-01-01T00:00:00Z")

            let second = sync("second")
            for id in ["maven", "gradle"] {
                #expect(await second.claimImport(of: id))
                let target = second.store.path(of: id)
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
                await second.importState(of: id, into: target)
            }
            let imports = lines.all.filter { $0.contains("imported") }
            #expect(imports.count == 2, "\(lines.all)")
            #expect(imports.last?.contains("1 blobs") == true && imports.last?.contains("1 copied on this machine") == true, "\(imports)")
            #expect(try String(contentsOf: second.store.path(of: "gradle").appendingPathComponent("shared.jar"), encoding: .utf8) == "the same jar\n")
        }
    }
}
