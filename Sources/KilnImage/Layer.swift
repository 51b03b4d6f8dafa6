import KilnOCI
import KilnStorage

/// One layer of an image: what the manifest says about it, what the config says about it,
/// and a way to read its bytes when (and only when) someone needs them.
public protocol Layer: Sendable {
    /// The manifest's descriptor of the blob as stored (compressed or not). Settable so that an
    /// image can describe the same blob in another media-type family (``MediaTypeFamily``).
    var descriptor: Descriptor { get set }
    /// sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry.
    var diffID: Digest { get }
    /// Opens the blob as stored.
    func openBlob() throws -> any BlobStream
}

extension Layer {
    /// Whether the stored blob is plain tar (its digest is then its diffID).
    public var isUncompressed: Bool { descriptor.mediaType.isUncompressedLayer }

    /// Opens the layer as a plain tar stream, decompressing gzip or zstd on the way.
    public func openUncompressed() throws -> any BlobStream {
        let blob = try openBlob()
        return isUncompressed ? blob : try DecompressingStream(blob, name: descriptor.digest.description)
    }
}

/// A layer whose blob is a region of a local file: a content-store blob, a layout's
/// `blobs/sha256/…`, an entry of an uncompressed tar, a freshly written layer.
public struct FileLayer: Layer, Hashable {
    /// The blob's descriptor.
    public var descriptor: Descriptor
    /// The uncompressed digest.
    public var diffID: Digest
    /// Where the blob's bytes are.
    public var region: FileRegion

    /// A layer described by `descriptor` and `diffID`, stored at `region`.
    public init(descriptor: Descriptor, diffID: Digest, region: FileRegion) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.region = region
    }

    /// Opens `region`.
    public func openBlob() throws -> any BlobStream {
        try region.open()
    }
}

extension FileLayer {
    /// A layer whose blob is in Kiln's content store.
    public init(store: ContentStore, descriptor: Descriptor, diffID: Digest) throws {
        let file = store.path(for: descriptor.digest)
        let region = try FileRegion(wholeFile: file)
        guard region.length == descriptor.size else {
            throw ImageError.malformed(path: file.path, reason: "stored blob has \(region.length) bytes, descriptor says \(descriptor.size)")
        }
        self.init(descriptor: descriptor, diffID: diffID, region: region)
    }
}
