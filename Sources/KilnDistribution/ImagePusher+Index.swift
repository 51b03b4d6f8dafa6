import Foundation
import KilnImage
import KilnOCI

extension ImagePusher {
    /// Pushes a multi-platform image: every image of `children` by its digest to each repository
    /// `references` name (blobs first, mounted where the registry has them, as ``push(_:to:mountFrom:progress:)``
    /// does), then `index` under every reference. The index goes last, so a tag never names an
    /// index whose children are missing. Every entry of `index` must be one of `children`.
    /// Returns the index's digest (of its canonical encoding, the bytes pushed).
    @discardableResult
    public func pushIndex(_ index: Index, children: [any KilnImage.Image], to references: [Reference],
                          mountFrom: [Reference] = [],
                          progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> Digest {
        let encoded = try CanonicalJSON.blob(index)
        let childDigests = try children.map { Digest.sha256(of: try $0.rawManifest()) }
        for entry in index.manifests where !childDigests.contains(entry.digest) {
            throw DistributionError.unpushable(
                reference: references.first?.description ?? "",
                reason: "the index lists \(entry.digest), which is none of the images pushed with it")
        }
        // A reference pinned to another digest fails now, before any child is pushed.
        for group in Self.groupedByRepository(references) { try Self.checkPinnedDigests(group, are: encoded.digest) }
        let repositories = Self.groupedByRepository(references).map { $0[0] }
        var mountSources = mountFrom
        for (child, digest) in zip(children, childDigests) {
            try await push(child, to: repositories.map { $0.withDigest(digest) }, mountFrom: mountSources, progress: progress)
            // Platforms often share layers (a COPY of the same files): later children mount them.
            mountSources = mountFrom + repositories
        }
        return try await pushIndexManifest(encoded.bytes, mediaType: index.mediaType ?? .ociIndex, to: references)
    }

    /// Pushes an index's exact bytes under every reference of `references`; its children must
    /// already be in each repository (``pushIndex(_:children:to:mountFrom:progress:)``, or
    /// ``IndexJoiner`` for images already in a registry). Returns the digest of `bytes`.
    @discardableResult
    public func pushIndexManifest(_ bytes: Data, mediaType: MediaType, to references: [Reference]) async throws -> Digest {
        let digest = Digest.sha256(of: bytes)
        for group in Self.groupedByRepository(references) {
            try Self.checkPinnedDigests(group, are: digest)
            let client = await pool.client(for: group[0].registry)
            try await Self.putManifest(bytes, mediaType: mediaType, digest: digest, as: group, client: client)
        }
        return digest
    }
}
