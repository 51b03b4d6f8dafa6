import Foundation
import KilnArchive
import KilnOCI
import Testing

/// Layers written by other tools (GNU tar, then gzip, pigz or zstd) apply like Kiln's own.
@Suite struct ForeignLayerTests {
    @Test(arguments: [["cat"], ["gzip", "-c"], ["pigz", "-c"], ["zstd", "-qc"]])
    func gnuTarLayersApply(_ compressor: [String]) throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let tar = scratch.path("gnu.tar")
        try Tool.run("tar", ["--format=posix", "--xattrs", "--xattrs-include=user.*", "--numeric-owner",
                             "-C", source.path, "-cf", tar.path, "."])
        let layer = scratch.path("layer")
        try Tool.output(compressor[0], Array(compressor.dropFirst()) + [tar.path]).write(to: layer)

        let target = try scratch.directory("target")
        let result = try LayerApplier().apply(layer: layer, to: target)
        #expect(result.diffID == Digest.sha256(of: try Data(contentsOf: tar)))
        #expect(result.digest == Digest.sha256(of: try Data(contentsOf: layer)))
        let expected = try TreeSnapshot.capture(source)
        let actual = try TreeSnapshot.capture(target)
        #expect(actual == expected, "applied tree differs:\n\(actual)\nexpected:\n\(expected)")
    }
}
