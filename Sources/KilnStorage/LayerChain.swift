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

/// Chain IDs as the OCI image spec defines them: the first layer's is its diffID, each next
/// one is `sha256(parentChainID + " " + diffID)`.
public enum ChainID {
    /// The chain ID of every prefix of `diffIDs`: element `i` identifies layers `0...i`.
    public static func prefixes(of diffIDs: [Digest]) -> [Digest] {
        var result: [Digest] = []
        result.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            if let parent = result.last {
                result.append(Digest.sha256(of: Array("\(parent) \(diffID)".utf8)))
            } else {
                result.append(diffID)
            }
        }
        return result
    }

    /// The chain ID of the whole list; nil for no layers.
    public static func of(_ diffIDs: [Digest]) -> Digest? { prefixes(of: diffIDs).last }
}
