import KilnOCI

/// What writing one layer produced, all measured in the same pass over the data.
public struct LayerWriteResult: Sendable, Hashable {
    /// sha256 of the uncompressed tar stream (the image config's `rootfs.diff_ids` entry).
    public var diffID: Digest
    /// sha256 of the blob as written (compressed, or the tar itself with `.none`).
    public var digest: Digest
    /// Size of the blob as written, in bytes.
    public var size: Int64
    /// Size of the uncompressed tar stream, in bytes.
    public var uncompressedSize: Int64
    /// OCI media type of the blob (map gzip to `MediaType.dockerLayerGzip` for Docker manifests).
    public var mediaType: MediaType
    /// Number of tar entries written, whiteouts included.
    public var entryCount: Int
}
