import Foundation
import KilnArchive
import KilnImage
import KilnOCI

/// Images assembled in-process from small trees, for tests of the readers and writers.
enum ImageFixtures {
    /// One layer per tree, written with `compression` into `scratch`, assembled under a linux/amd64 config.
    static func image(trees: [URL], in scratch: ScratchDirectory, compression: LayerCompression = .gzip(),
                      cmd: [String] = ["sh"]) throws -> AssembledImage {
        let layers: [any Layer] = try trees.enumerated().map { index, tree in
            let file = scratch.path("layer-\(index)-\(UUID().uuidString)")
            let result = try LayerWriter(compression: compression, sourceDateEpoch: 0).write(directory: tree, to: file)
            return FileLayer(descriptor: Descriptor(mediaType: result.mediaType, digest: result.digest, size: result.size),
                             diffID: result.diffID, region: try FileRegion(wholeFile: file))
        }
        let history = trees.map { _ in History(created: "1970-01-01T00:00:00Z", createdBy: "test layer") }
        let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"), created: "1970-01-01T00:00:00Z",
                                 config: ContainerConfig(cmd: cmd), history: history)
        return try AssembledImage(config: config, layers: layers)
    }

    /// sha256 of a whole file.
    static func digest(of file: URL) throws -> Digest {
        try FileRegion(wholeFile: file).open().measure().digest
    }
}

/// A layer whose bytes do not match its descriptor, to prove writers check before committing.
struct CorruptLayer: Layer {
    var descriptor: Descriptor
    let diffID: Digest

    init(claiming real: any Layer) {
        descriptor = real.descriptor
        diffID = real.diffID
    }

    func openBlob() throws -> any BlobStream {
        final class Garbage: BlobStream {
            var remaining: Int
            init(_ count: Int) { remaining = count }
            func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
                let count = min(buffer.count, remaining)
                for index in 0..<count { buffer[index] = 0x5a }
                remaining -= count
                return count
            }
        }
        return Garbage(Int(descriptor.size))
    }
}
