import Foundation
import KilnArchive
import KilnOCI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every codec, with the command that decompresses it.
let allCodecs: [(LayerCompression, [String])] = [
    (.none, ["cat"]),
    (.gzip(level: 6), ["gzip", "-dc"]),
    (.parallelGzip(level: 6, blockSize: 256 << 10, threads: 2), ["gzip", "-dc"]),
    (.zstd(level: 3), ["zstd", "-dcq"]),
]

@Suite struct LayerRoundTripTests {
    @Test(arguments: allCodecs.indices)
    func wholeTreeRoundTrips(codecIndex: Int) throws {
        let (compression, decompress) = allCodecs[codecIndex]
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let layer = scratch.path("layer")
        let result = try LayerWriter(compression: compression).write(directory: source, to: layer)

        #expect(result.mediaType == compression.mediaType)
        #expect(result.digest.description == (try Tool.sha256(of: layer)))
        let size = try FileManager.default.attributesOfItem(atPath: layer.path)[.size] as? Int
        #expect(Int64(size ?? -1) == result.size)
        let tar = try Tool.output(decompress[0], Array(decompress.dropFirst()) + [layer.path])
        #expect(Digest.sha256(of: tar) == result.diffID)
        #expect(Int64(tar.count) == result.uncompressedSize)

        let applied = try scratch.directory("applied")
        let applyResult = try LayerApplier().apply(layer: layer, to: applied)
        #expect(applyResult.diffID == result.diffID)
        #expect(applyResult.digest == result.digest)
        #expect(applyResult.mediaType == compression.mediaType)
        let expected = try TreeSnapshot.capture(source)
        let actual = try TreeSnapshot.capture(applied)
        #expect(actual == expected, "applied tree differs:\n\(actual)\nexpected:\n\(expected)")
    }

    @Test func pythonTarfileSeesEveryEntryTypeAndPax() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source, withDevice: true)
        let layer = scratch.path("layer.tar.gz")
        _ = try LayerWriter(compression: .gzip()).write(directory: source, to: layer)
        let members = try TarInspection.members(of: layer)
        let byName = Dictionary(members.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

        #expect(members.allSatisfy { $0.uname.isEmpty && $0.gname.isEmpty })
        #expect(members.allSatisfy { $0.mtime == Int(SampleTree.mtime) })
        #expect(byName["a"]?.type == "dir")
        #expect(byName["a/file.txt"]?.type == "file")
        #expect(byName["a/file.txt"]?.pax["SCHILY.xattr.user.foo"] == "bar")
        #expect(byName["a/hard"]?.type == "hardlink")
        #expect(byName["a/hard"]?.linkname == "a/file.txt")
        #expect(byName["a/link"]?.type == "symlink")
        #expect(byName["a/link"]?.linkname == "file.txt")
        #expect(byName["a/longlink"]?.linkname == SampleTree.longTarget)
        #expect(byName["a/longlink"]?.pax["linkpath"] == SampleTree.longTarget)
        #expect(byName["a/setuid"]?.mode == 0o4755)
        #expect(byName["a/sticky-dir"]?.mode == 0o1777)
        #expect(byName["fifo"]?.type == "fifo")
        #expect(byName[SampleTree.longName]?.pax["path"] == SampleTree.longName)
        #expect(byName["big.bin"]?.size == 16 * 70_000)
        #expect(byName["unicodé/ファイル.txt"]?.type == "file")
        // Short names need no PAX header: plain ustar where it suffices.
        #expect(byName["a/link"]?.pax.isEmpty == true)
        let device = try #require(byName["null-device"])
        #expect(device.type == "char" && device.devmajor == 1 && device.devminor == 3)
    }

    @Test func gnuTarListsTheLayer() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let layer = scratch.path("layer.tar.gz")
        _ = try LayerWriter(compression: .parallelGzip()).write(directory: source, to: layer)
        let listing = try Tool.run("tar", ["--numeric-owner", "-tvzf", layer.path]).stdout
        let lines = listing.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("-rwsr-xr-x 0/0") && $0.hasSuffix("a/setuid") })
        #expect(lines.contains { $0.hasPrefix("drwxrwxrwt") && $0.hasSuffix("a/sticky-dir/") })
        #expect(lines.contains { $0.hasPrefix("h") && $0.hasSuffix("a/hard link to a/file.txt") })
        #expect(lines.contains { $0.hasPrefix("l") && $0.hasSuffix("a/link -> file.txt") })
        #expect(lines.contains { $0.hasPrefix("p") && $0.hasSuffix(" fifo") })
        #expect(lines.contains { $0.hasSuffix(SampleTree.longName) })
        #expect(lines.allSatisfy { $0.contains("2020-09-13") })
    }

    @Test func sourceDateEpochClampsOnlyLaterMtimes() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try Data("new".utf8).write(to: source.appendingPathComponent("new"))
        try Data("old".utf8).write(to: source.appendingPathComponent("old"))
        let old = timespec(tv_sec: 1_000, tv_nsec: 0)
        _ = utimensat(AT_FDCWD, source.appendingPathComponent("old").path, [old, old], 0)
        let layer = scratch.path("layer.tar")
        let epoch: Int64 = 1_700_000_000
        _ = try LayerWriter(compression: .none, sourceDateEpoch: epoch)
            .write(changes: [.write(path: "new"), .write(path: "old"), .delete(path: "gone")], from: source, to: layer)
        let members = Dictionary(uniqueKeysWithValues: try TarInspection.members(of: layer).map { ($0.name, $0) })
        #expect(members["new"]?.mtime == Int(epoch))
        #expect(members["old"]?.mtime == 1_000)
        #expect(members[".wh.gone"]?.mtime == Int(epoch))
    }

    @Test func entriesAreSortedParentsFirstWhateverTheInputOrder() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        for path in ["a/b", "a-c", "a/b/c.txt"] {
            let url = source.appendingPathComponent(path)
            if path.hasSuffix(".txt") || path == "a-c" {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data().write(to: url)
            } else {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            }
        }
        let layer = scratch.path("layer.tar")
        let changes: [LayerChange] = [.write(path: "a-c"), .write(path: "a/b/c.txt"), .opaque(directory: "a/b"),
                                      .write(path: "a/b"), .delete(path: "a/zz"), .write(path: "a")]
        _ = try LayerWriter(compression: .none).write(changes: changes, from: source, to: layer)
        let names = try TarInspection.members(of: layer).map(\.name)
        #expect(names == ["a", "a/.wh.zz", "a/b", "a/b/.wh..wh..opq", "a/b/c.txt", "a-c"])
    }

    @Test(arguments: allCodecs.indices)
    func sameInputGivesSameBytes(codecIndex: Int) throws {
        let compression = allCodecs[codecIndex].0
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let first = try LayerWriter(compression: compression).write(directory: source, to: scratch.path("1"))
        let second = try LayerWriter(compression: compression).write(directory: source, to: scratch.path("2"))
        #expect(first == second)
        #expect(try Data(contentsOf: scratch.path("1")) == Data(contentsOf: scratch.path("2")))
    }

    @Test func streamingOutputMatchesFileOutput() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let changes = try FileManager.default.subpathsOfDirectory(atPath: source.path).map { LayerChange.write(path: $0) }
        var streamed = Data()
        let writer = LayerWriter(compression: .zstd())
        let viaClosure = try writer.write(changes: changes, from: source) { streamed.append(contentsOf: $0) }
        let viaFile = try writer.write(changes: changes, from: source, to: scratch.path("layer"))
        #expect(viaClosure == viaFile)
        #expect(Digest.sha256(of: streamed) == viaFile.digest)
    }

    @Test func socketsAreSkipped() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try Data("x".utf8).write(to: source.appendingPathComponent("file"))
        _ = try Tool.python("import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
                        [source.appendingPathComponent("agent.sock").path])
        let layer = scratch.path("layer.tar")
        let result = try LayerWriter(compression: .none).write(directory: source, to: layer)
        #expect(result.entryCount == 1)
        #expect(try TarInspection.members(of: layer).map(\.name) == ["file"])
    }

    @Test func symlinkedParentInTheSourceIsNotFollowed() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        let secret = try scratch.directory("secret")
        try Data("host".utf8).write(to: secret.appendingPathComponent("passwd"))
        symlink(secret.path, source.appendingPathComponent("etc").path)
        #expect(throws: ArchiveError.self) {
            try LayerWriter(compression: .none).write(changes: [.write(path: "etc/passwd")], from: source,
                                                      to: scratch.path("layer"))
        }
    }
}
