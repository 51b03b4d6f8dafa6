import Foundation
import KilnArchive
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

    /// Opens the layer as a plain tar stream, decompressing gzip or zstd on the way (with
    /// KilnArchive's `LayerDecompressor`, the one layer decoder).
    public func openUncompressed() throws -> any BlobStream {
        let blob = try openBlob()
        return isUncompressed ? blob : try DecodedLayerStream(blob, name: descriptor.digest.description)
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

/// A layer whose blob is in Kiln's content store. Its bytes are only ever read through the
/// store's verifying reader, so an exporter, a push or a decoder that reads it to the end has
/// checked its digest in the same pass, and a corrupt blob is named (with ``usedBy``) and
/// quarantined instead of leaving the store.
public struct StoredLayer: Layer {
    /// The blob's descriptor.
    public var descriptor: Descriptor
    /// The uncompressed digest.
    public var diffID: Digest
    /// The store holding the blob.
    public let store: ContentStore
    /// What the layer is to the build (`layer 3 of the image, made by #5 RUN make`), for errors.
    public var usedBy: String

    /// The layer `descriptor` of `store`; throws when the blob is absent, and reports it corrupt
    /// (quarantining it) when its size is not the descriptor's.
    public init(store: ContentStore, descriptor: Descriptor, diffID: Digest, usedBy: String) throws {
        guard let size = store.size(of: descriptor.digest) else { throw StorageError.blobNotFound(descriptor.digest) }
        if size != descriptor.size { try store.verifyBlob(descriptor.digest, size: descriptor.size, usedBy: usedBy) }
        self.descriptor = descriptor
        self.diffID = diffID
        self.store = store
        self.usedBy = usedBy
    }

    /// The blob's file in the store; read it only through ``openBlob()`` or after
    /// ``ContentStore/verifyBlob(_:size:usedBy:)``.
    public var file: URL { store.path(for: descriptor.digest) }

    /// A verifying read of the blob.
    public func openBlob() throws -> any BlobStream {
        try store.openVerified(descriptor.digest, size: descriptor.size, usedBy: usedBy)
    }

    /// What to report for `error`, met by a consumer that read ``file`` itself (an upload, whose
    /// registry refuses bytes that do not hash to the digest): the blob's corruption (it is then
    /// quarantined) when the store's check finds it corrupt, else `error`. Reads the blob once.
    public func explain(_ error: any Error) -> any Error {
        (try? store.openVerified(descriptor.digest, size: descriptor.size, usedBy: usedBy))?.explain(error) ?? error
    }
}
