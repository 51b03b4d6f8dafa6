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

    /// Pushes `index`'s images by digest, then the index as each of `references`.
    public func publishIndex(_ index: AssembledIndex, to references: [Reference], mountFrom: [Reference],
                             progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Digest {
        try await pushIndex(index.index, children: index.images, to: references, mountFrom: mountFrom, progress: progress)
    }

    /// Pushes `layer`'s blob to every repository of `references`, tagging nothing.
    public func publishLayer(_ layer: any Layer, to references: [Reference], mountFrom: [Reference],
                             progress: @escaping @Sendable (TransferProgress) -> Void) async throws {
        try await pushLayer(layer, to: references, mountFrom: mountFrom, progress: progress)
    }
}
