import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry

/// `KilnDistribution`'s pusher is how registry outputs are published.
extension ImagePusher: ImagePublisher {
    /// Pushes `image` as `reference`.
    public func publish(_ image: any Image, to reference: Reference, mountFrom: [Reference],
                        progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Digest {
        try await push(image, to: reference, mountFrom: mountFrom, progress: progress)
    }

    /// Pushes `bytes` (an index whose images are already there) as `reference`.
    public func publishManifest(_ bytes: Data, mediaType: MediaType, to reference: Reference) async throws {
        let client = await pool.client(for: reference.registry)
        try await client.pushManifest(bytes, mediaType: mediaType, to: ManifestReference(reference), in: reference.repository)
    }
}
