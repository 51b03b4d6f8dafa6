import Foundation
import KilnArchive
import Testing

@Suite struct LayerDecompressionTests {
    static func layer(_ scratch: Scratch, _ compression: LayerCompression) throws -> (URL, LayerWriteResult) {
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let layer = scratch.path("layer")
        return (layer, try LayerWriter(compression: compression).write(directory: source, to: layer))
    }

    @Test(arguments: [LayerCompression.gzip(), .parallelGzip(blockSize: 64 << 10), .zstd()])
    func truncatedLayerIsAnError(_ compression: LayerCompression) throws {
        let scratch = try Scratch()
        let (layer, result) = try Self.layer(scratch, compression)
        let bytes = try Data(contentsOf: layer)
        try bytes.prefix(Int(result.size) - 20).write(to: layer)
        #expect(throws: ArchiveError.self) {
            try LayerApplier().apply(layer: layer, to: try scratch.directory("target"))
        }
    }

    @Test func zeroPaddingAfterGzipIsIgnoredButHashed() throws {
        let scratch = try Scratch()
        let (layer, result) = try Self.layer(scratch, .parallelGzip())
        var bytes = try Data(contentsOf: layer)
        bytes.append(Data(count: 1024))
        try bytes.write(to: layer)
        let applied = try LayerApplier().apply(layer: layer, to: try scratch.directory("target"))
        #expect(applied.diffID == result.diffID)
        #expect(applied.digest.description == (try Tool.sha256(of: layer)))
    }

    /// Decoding runs a few blocks ahead on a thread of its own: a layer many times the blocks it
    /// holds comes out whole (same diffID, same bytes), and an application stopped at its first
    /// entry returns (the decoding thread is stopped, not left waiting for a reader).
    @Test(arguments: [LayerCompression.gzip(), .zstd()])
    func layerLargerThanTheReadAheadAppliesWhole(_ compression: LayerCompression) throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        var generator = SystemRandomNumberGenerator()
        for index in 0..<12 {
            // 1 MiB of random bytes each (incompressible: the compressed blob is as large).
            let bytes = (0..<(1 << 20) / 8).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
            try Data(bytes).write(to: source.appendingPathComponent("file-\(index)"))
        }
        let layer = scratch.path("layer")
        let written = try LayerWriter(compression: compression).write(directory: source, to: layer)
        let target = try scratch.directory("target")
        let applied = try LayerApplier().apply(layer: layer, to: target)
        #expect(applied.diffID == written.diffID)
        #expect(applied.digest.description == (try Tool.sha256(of: layer)))
        for index in 0..<12 {
            let name = "file-\(index)"
            #expect(try Data(contentsOf: target.appendingPathComponent(name)) == (try Data(contentsOf: source.appendingPathComponent(name))))
        }

        let stopped = WriteGate()
        stopped.cancel()
        #expect(throws: (any Error).self) {
            try LayerApplier().apply(layer: layer, to: try scratch.directory("stopped"), gate: stopped)
        }
    }

    @Test func compressionIsDetectedByMagic() {
        func detect(_ bytes: [UInt8]) -> LayerCompression { bytes.withUnsafeBytes { LayerCompression.detect($0) } }
        #expect(detect([0x1f, 0x8b, 8, 0]).mediaType == .ociLayerGzip)
        #expect(detect([0x28, 0xb5, 0x2f, 0xfd]).mediaType == .ociLayerZstd)
        #expect(detect(Array("etc/passwd".utf8)).mediaType == .ociLayer)
        #expect(detect([]).mediaType == .ociLayer)
    }
}
