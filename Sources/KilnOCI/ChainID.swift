/// Chain IDs: one digest naming a stack of layers, so that an unpacked snapshot can be found by
/// what it contains rather than by the manifest that listed it.
///
/// `chain(0) = diffID(0)`, `chain(n) = sha256(chain(n-1) + " " + diffID(n))`, as the OCI spec defines.
/// A diff ID is the digest of a layer's uncompressed tar (``DigestHasher`` over the tar stream).
public enum ChainID {
    /// The chain ID of every prefix of `diffIDs`: element `n` names layers `0...n`.
    public static func chain(_ diffIDs: [Digest]) -> [Digest] {
        var result: [Digest] = []
        result.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            guard let parent = result.last else {
                result.append(diffID)
                continue
            }
            result.append(Digest.sha256(of: Array("\(parent) \(diffID)".utf8)))
        }
        return result
    }

    /// The chain ID of the whole stack, nil for no layers.
    public static func of(_ diffIDs: [Digest]) -> Digest? {
        chain(diffIDs).last
    }
}
