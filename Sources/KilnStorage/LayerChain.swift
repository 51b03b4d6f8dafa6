import Foundation
import KilnOCI

/// One layer of an image, as the snapshot store needs it: where its blob is and what its
/// uncompressed content hashes to.
public struct LayerReference: Sendable, Hashable {
    /// The layer blob (usually a path in the content store), compressed or not.
    public var blob: URL
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    public var diffID: Digest

    /// A layer from its blob and diffID.
    public init(blob: URL, diffID: Digest) {
        self.blob = blob
        self.diffID = diffID
    }
}
