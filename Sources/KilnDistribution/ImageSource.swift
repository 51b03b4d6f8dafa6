import Foundation
import KilnOCI
import KilnStorage

/// One platform's image as a source resolved it: the exact manifest and config bytes, and
/// where its digest came from. No layer has been downloaded.
public struct ResolvedImage: Sendable, Hashable {
    /// The reference as the user wrote it (after normalisation).
    public var reference: Reference
    /// sha256 of ``rawManifest``: what a build records instead of the tag.
    public var manifestDigest: Digest
    /// The single-platform manifest exactly as served.
    public var rawManifest: Data
    /// ``rawManifest`` parsed.
    public var manifest: Manifest
    /// The config blob exactly as served.
    public var rawConfig: Data
    /// ``rawConfig`` parsed.
    public var config: ImageConfig

    /// Creates a resolved image.
    public init(reference: Reference, manifestDigest: Digest, rawManifest: Data, manifest: Manifest,
                rawConfig: Data, config: ImageConfig) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.rawManifest = rawManifest
        self.manifest = manifest
        self.rawConfig = rawConfig
        self.config = config
    }
}

/// How far one blob transfer has got, for progress displays.
public struct TransferProgress: Sendable, Hashable {
    /// The blob.
    public var digest: Digest
    /// Bytes moved so far.
    public var completedBytes: Int64
    /// The blob's size.
    public var totalBytes: Int64
    /// Whether the blob needed no transfer (already present, or mounted).
    public var skipped: Bool

    /// Creates a progress report.
    public init(digest: Digest, completedBytes: Int64, totalBytes: Int64, skipped: Bool = false) {
        self.digest = digest
        self.completedBytes = completedBytes
        self.totalBytes = totalBytes
        self.skipped = skipped
    }
}

/// Somewhere base images come from: a registry (with mirrors), an OCI layout, Kiln's own
/// store. The builder resolves every `FROM` through one of these and asks for layer blobs
/// only when a step needs the files.
public protocol ImageSource: Sendable {
    /// Resolves `reference` to `platform`'s manifest and config (an index is narrowed to the
    /// platform); downloads no layer.
    func resolve(_ reference: Reference, platform: Platform) async throws -> ResolvedImage

    /// Makes sure every blob in `blobs` (layers of `image`) is in `store`, transferring
    /// several at once and verifying each digest while streaming. Returns when all are there.
    func fetch(_ blobs: [Descriptor], of image: ResolvedImage, into store: ContentStore,
               progress: @escaping @Sendable (TransferProgress) -> Void) async throws
}
