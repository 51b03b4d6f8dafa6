import KilnDistribution
import KilnImage
import KilnOCI

/// `KilnDistribution`'s pusher is how registry outputs are published.
extension ImagePusher: ImagePublisher {
    /// Pushes `image` as `reference`.
    public func publish(_ image: any Image, to reference: Reference, mountFrom: [Reference],
                        progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Digest {
        try await push(image, to: reference, mountFrom: mountFrom, progress: progress)
    }
}
