import Foundation
import KilnOCI

/// Every blob of an image, or of an index and its images, in the order a layout lists them
/// (layers, config, manifest; the index last), each once, with a way to open it. Shared by the
/// writers so they agree on what an image consists of.
struct ImageBlobs {
    /// One blob to copy.
    struct Blob {
        let descriptor: Descriptor
        let open: () throws -> any BlobStream
    }

    private(set) var blobs: [Blob] = []
    private var seen: Set<Digest> = []

    init(_ image: any Image) throws {
        try add(image)
    }

    init(_ index: AssembledIndex) throws {
        for image in index.images { try add(image) }
        let bytes = index.indexBlob.bytes
        append(index.descriptor(), open: { DataStream(bytes) })
    }

    private mutating func add(_ image: any Image) throws {
        let manifest = try image.rawManifest()
        let config = try image.rawConfig()
        for layer in try image.layers() { append(layer.descriptor, open: layer.openBlob) }
        append(try image.manifest().config, open: { DataStream(config) })
        append(try image.manifestDescriptor(), open: { DataStream(manifest) })
    }

    private mutating func append(_ descriptor: Descriptor, open: @escaping () throws -> any BlobStream) {
        if seen.insert(descriptor.digest).inserted { blobs.append(Blob(descriptor: descriptor, open: open)) }
    }
}

/// Bytes already in memory, read as a stream (manifests and configs).
final class DataStream: BlobStream {
    private let data: Data
    private var position = 0

    init(_ data: Data) { self.data = data }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, data.count - position)
        guard count > 0 else { return 0 }
        data.copyBytes(to: buffer, from: position..<(position + count))
        position += count
        return count
    }
}
