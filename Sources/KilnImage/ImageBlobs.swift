import Foundation
import KilnOCI

/// Every blob of an image in the order a layout lists them (layers, config, manifest), each
/// once, with a way to open it. Shared by the writers so they agree on what an image consists of.
struct ImageBlobs {
    /// One blob to copy.
    struct Blob {
        let descriptor: Descriptor
        let open: () throws -> any BlobStream
    }

    let manifest: Data
    let config: Data
    let blobs: [Blob]

    init(_ image: any Image) throws {
        manifest = try image.rawManifest()
        config = try image.rawConfig()
        let configDescriptor = try image.manifest().config
        var seen: Set<Digest> = []
        var blobs: [Blob] = []
        for layer in try image.layers() where seen.insert(layer.descriptor.digest).inserted {
            blobs.append(Blob(descriptor: layer.descriptor, open: layer.openBlob))
        }
        for (descriptor, bytes) in [(configDescriptor, config), (try image.manifestDescriptor(), manifest)]
        where seen.insert(descriptor.digest).inserted {
            blobs.append(Blob(descriptor: descriptor, open: { DataStream(bytes) }))
        }
        self.blobs = blobs
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
