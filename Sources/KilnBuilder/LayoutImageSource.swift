import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnStorage

/// Base images from an OCI image layout on disk (a named build context): nothing is
/// downloaded, blobs are copied into the content store, each verified against its digest.
public struct LayoutImageSource: ImageSource {
    /// The name of the context this source serves.
    public let name: String
    /// The layout and the image in it.
    public let layout: NamedContext.Layout

    /// A source for the context `name`, an image in `layout`.
    public init(name: String, layout: NamedContext.Layout) {
        self.name = name
        self.layout = layout
    }

    /// The layout's image named by the context's tag or digest, whatever `reference` says
    /// (the reference only names the context); an index is narrowed to `platform`. Whether a
    /// single-platform image fits is the builder's check, as for registry images.
    public func resolve(_ reference: Reference, platform: Platform) async throws -> ResolvedImage {
        let (name, context) = (name, layout)
        return try await onOwnThread {
            let layout = try OCILayout(at: context.directory)
            let image: LayoutImage
            do {
                if let digest = context.digest {
                    guard let entry = try layout.index().manifests.first(where: { $0.digest == digest }) else {
                        throw BuildError.namedContext(name, "no image \(digest) in \(context.directory.path)")
                    }
                    image = try layout.image(descriptor: entry, platform: platform)
                } else {
                    image = try layout.image(reference: context.tag, platform: platform)
                }
            } catch ImageError.noMatchingPlatform(_, let platform, let available) {
                // The same error a registry index gives, so the build reports both alike.
                throw DistributionError.noMatchingPlatform(reference: name, platform: platform, available: available)
            }
            let rawManifest = try image.rawManifest()
            let rawConfig = try image.rawConfig()
            return ResolvedImage(reference: reference, manifestDigest: Digest.sha256(of: rawManifest),
                                 rawManifest: rawManifest, manifest: try image.manifest(),
                                 rawConfig: rawConfig, config: try ImageConfig(validating: rawConfig))
        }
    }

    /// Copies the blobs missing from `store` out of the layout.
    public func fetch(_ blobs: [Descriptor], of image: ResolvedImage, into store: ContentStore,
                      progress: @escaping @Sendable (TransferProgress) -> Void) async throws {
        let layout = try OCILayout(at: self.layout.directory)
        for blob in blobs {
            try Task.checkCancellation()
            if store.size(of: blob.digest) == blob.size {
                progress(TransferProgress(digest: blob.digest, completedBytes: blob.size, totalBytes: blob.size, skipped: true))
                continue
            }
            let region = try layout.blob(blob.digest)
            if region.offset == 0, region.length == blob.size {
                try await store.ingest(contentsOf: region.file, expected: blob.digest, size: blob.size)
            } else {
                let stream = try region.open()
                try await store.ingest(expected: blob.digest, size: blob.size) { writer in
                    var buffer = [UInt8](repeating: 0, count: 1 << 20)
                    while true {
                        let count = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
                        if count == 0 { break }
                        try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    }
                }
            }
            progress(TransferProgress(digest: blob.digest, completedBytes: blob.size, totalBytes: blob.size))
        }
    }
}
