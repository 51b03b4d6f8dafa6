import KilnOCI

/// What applying one layer read, measured while it was applied.
public struct LayerApplyResult: Sendable, Hashable {
    /// sha256 of the uncompressed tar stream; compare with the config's diffID.
    public var diffID: Digest
    /// sha256 of the blob as read; compare with the manifest's layer digest.
    public var digest: Digest
    /// OCI media type matching the compression detected from the blob's magic number.
    public var mediaType: MediaType
    /// Number of tar entries read, whiteouts included.
    public var entryCount: Int
}
