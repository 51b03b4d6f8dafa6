import Foundation
import KilnOCI

/// One image per platform joined by an image index, its bytes computed with canonical JSON so
/// that the same images always give the same index digest.
///
/// Each entry's platform is the one its image's config declares, so the index can never claim
/// a platform its image was not built for; two images of one platform are refused.
public struct AssembledIndex: Sendable {
    /// The images, in the order the index lists them.
    public let images: [any Image]
    /// The index as encoded.
    public let indexBlob: EncodedBlob
    /// OCI's image index, or Docker's manifest list for Docker schema 2 images.
    public let mediaType: MediaType

    /// Joins `images` in an index of `mediaTypes`' family; Docker's manifest list has no
    /// annotations, so `annotations` are dropped there.
    public init(images: [any Image], mediaTypes: MediaTypeFamily = .oci, annotations: [String: String] = [:]) throws {
        var entries: [Descriptor] = []
        var seen: [String: Digest] = [:]
        for image in images {
            var entry = try image.manifestDescriptor()
            let platform = try image.config().platform
            if let other = seen.updateValue(entry.digest, forKey: platform.description) {
                throw ImageError.malformed(path: "index", reason: "two images for \(platform): \(other) and \(entry.digest)")
            }
            entry.platform = platform
            entries.append(entry)
        }
        let index = Index(mediaType: mediaTypes.index, manifests: entries, annotations: mediaTypes == .oci ? annotations : [:])
        do { try index.validate() } catch { throw ImageError.malformed(path: "index", reason: "\(error)") }
        self.images = images
        self.indexBlob = try CanonicalJSON.blob(index)
        self.mediaType = mediaTypes.index
    }

    /// sha256 of the index bytes.
    public var digest: Digest { indexBlob.digest }

    /// A descriptor of the index, as a layout's `index.json` or a registry lists it.
    public func descriptor(annotations: [String: String] = [:]) -> Descriptor {
        indexBlob.descriptor(mediaType: mediaType, annotations: annotations)
    }

    /// The same index over `images`, which must have the same manifests (copies whose
    /// deferred layers were fetched, say).
    public func replacingImages(_ images: [any Image]) throws -> AssembledIndex {
        guard try images.map({ try $0.digest() }) == self.images.map({ try $0.digest() }) else {
            throw ImageError.malformed(path: "index", reason: "replacement images differ from the assembled ones")
        }
        return AssembledIndex(images: images, indexBlob: indexBlob, mediaType: mediaType)
    }

    private init(images: [any Image], indexBlob: EncodedBlob, mediaType: MediaType) {
        self.images = images
        self.indexBlob = indexBlob
        self.mediaType = mediaType
    }
}
