import Foundation
import KilnArchive
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct WhiteoutApplyTests {
    /// A lower tree: what earlier layers left in the target.
    static func lower(_ scratch: Scratch) throws -> URL {
        let target = try scratch.directory("target")
        for path in ["keep.txt", "gone.txt", "gone-dir/deep/file", "opaque/lower.txt", "opaque/sub/lower.txt",
                     "opaque/sub/also-lower"] {
            let url = target.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("lower".utf8).write(to: url)
        }
        return target
    }

    @Test(arguments: [LayerCompression.none, .parallelGzip(), .zstd()])
    func deletionsAndOpaqueDirectoriesRoundTrip(_ compression: LayerCompression) throws {
        let scratch = try Scratch()
        let target = try Self.lower(scratch)
        let upper = try scratch.directory("upper")
        try FileManager.default.createDirectory(at: upper.appendingPathComponent("opaque/sub"), withIntermediateDirectories: true)
        try Data("upper".utf8).write(to: upper.appendingPathComponent("opaque/sub/new.txt"))
        try Data("upper".utf8).write(to: upper.appendingPathComponent("opaque/-first.txt"))
        let changes: [LayerChange] = [
            .delete(path: "gone.txt"), .delete(path: "gone-dir"), .delete(path: "never-existed"),
            .write(path: "opaque"), .opaque(directory: "opaque"), .write(path: "opaque/-first.txt"),
            .write(path: "opaque/sub"), .write(path: "opaque/sub/new.txt"),
        ]
        let layer = scratch.path("layer")
        _ = try LayerWriter(compression: compression).write(changes: changes, from: upper, to: layer)
        _ = try LayerApplier().apply(layer: layer, to: target)

        let remaining = Set(try FileManager.default.subpathsOfDirectory(atPath: target.path))
        // "-first.txt" sorts before ".wh..wh..opq": an entry of this layer written before the marker survives it.
        #expect(remaining == ["keep.txt", "opaque", "opaque/-first.txt", "opaque/sub", "opaque/sub/new.txt"])
    }

    @Test func laterEntriesReplaceEarlierOnesOfAnotherType() throws {
        let scratch = try Scratch()
        let target = try Self.lower(scratch)
        let upper = try scratch.directory("upper")
        try Data("now a file".utf8).write(to: upper.appendingPathComponent("gone-dir"))
        try FileManager.default.createDirectory(at: upper.appendingPathComponent("keep.txt"), withIntermediateDirectories: true)
        let layer = scratch.path("layer")
        _ = try LayerWriter(compression: .none)
            .write(changes: [.write(path: "gone-dir"), .write(path: "keep.txt")], from: upper, to: layer)
        _ = try LayerApplier().apply(layer: layer, to: target)
        #expect(try String(contentsOf: target.appendingPathComponent("gone-dir"), encoding: .utf8) == "now a file")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("keep.txt").path, isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
    }

    @Test func replacingAHardlinkedFileLeavesTheOtherLinkAlone() throws {
        let scratch = try Scratch()
        let target = try scratch.directory("target")
        try Data("shared".utf8).write(to: target.appendingPathComponent("a"))
        link(target.appendingPathComponent("a").path, target.appendingPathComponent("b").path)
        let upper = try scratch.directory("upper")
        try Data("new".utf8).write(to: upper.appendingPathComponent("b"))
        let layer = scratch.path("layer")
        _ = try LayerWriter(compression: .none).write(changes: [.write(path: "b")], from: upper, to: layer)
        _ = try LayerApplier().apply(layer: layer, to: target)
        #expect(try String(contentsOf: target.appendingPathComponent("a"), encoding: .utf8) == "shared")
        #expect(try String(contentsOf: target.appendingPathComponent("b"), encoding: .utf8) == "new")
    }

    @Test func directoryMtimesSurviveTheirChildren() throws {
        let scratch = try Scratch()
        let upper = try scratch.directory("upper")
        try FileManager.default.createDirectory(at: upper.appendingPathComponent("d/e"), withIntermediateDirectories: true)
        try Data().write(to: upper.appendingPathComponent("d/e/f"))
        try SampleTree.setTimes(upper, to: 1_234_567_890)
        let layer = scratch.path("layer")
        _ = try LayerWriter(compression: .none).write(directory: upper, to: layer)
        let target = try scratch.directory("target")
        _ = try LayerApplier().apply(layer: layer, to: target)
        for path in ["d", "d/e", "d/e/f"] {
            var info = stat()
            lstat(target.appendingPathComponent(path).path, &info)
            #expect(info.st_mtim.tv_sec == 1_234_567_890, "\(path)")
        }
    }
}
