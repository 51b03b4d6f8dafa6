/// A pull, push or copy that cannot go on, for reasons beyond one registry request.
public enum DistributionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An index has no manifest for the platform asked for.
    case noMatchingPlatform(reference: String, platform: String, available: String)
    /// A single-platform image is for another platform than the one asked for.
    case wrongPlatform(reference: String, platform: String, has: String)
    /// A manifest, index or config does not decode or validate.
    case malformed(reference: String, what: String, reason: String)
    /// An image cannot be pushed as it is (a layer that cannot be read, a foreign layer).
    case unpushable(reference: String, reason: String)
    /// A rootfs destination that already has files in it.
    case destinationNotEmpty(path: String)
    /// Two images of an index to be made have the same platform: `first` and `second` name them.
    case duplicatePlatform(platform: String, first: String, second: String)
    /// A reference an index was to be made of names something that is no image (an artifact,
    /// an index inside an index).
    case notAnImage(reference: String, mediaType: String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .noMatchingPlatform(let reference, let platform, let available):
            return "\(reference): no image for platform \(platform) (the index has: \(available.isEmpty ? "none" : available))"
        case .wrongPlatform(let reference, let platform, let has):
            return "\(reference): no image for platform \(platform) (the image is for \(has) only)"
        case .malformed(let reference, let what, let reason):
            return "\(reference): malformed \(what): \(reason)"
        case .unpushable(let reference, let reason):
            return "cannot push to \(reference): \(reason)"
        case .destinationNotEmpty(let path):
            return "\(path) is not empty: a rootfs is pulled into a new or empty directory"
        case .duplicatePlatform(let platform, let first, let second):
            return "\(first) and \(second) are both for \(platform): an index holds one image per platform"
        case .notAnImage(let reference, let mediaType):
            return "\(reference) is \(mediaType), not an image manifest or an index of images"
        }
    }
}

extension DistributionError {
    /// For an image without the platform asked for: the platforms it has, comma-separated.
    public var platformsAvailable: String? {
        switch self {
        case .noMatchingPlatform(_, _, let available): return available
        case .wrongPlatform(_, _, let has): return has
        default: return nil
        }
    }
}
