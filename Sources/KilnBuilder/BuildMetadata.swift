import Foundation
import KilnOCI

/// The `--metadata-file` document: the image's digests and, per step, its timing and
/// whether the cache answered it.
///
/// ```
/// { "containerimage.digest": "sha256:…", "containerimage.config.digest": "sha256:…",
///   "kiln.baseImages": {"busybox": "sha256:…"},
///   "kiln.steps": [ {"step": {"number": 2, "stage": "0", "position": 2, "stageSteps": 3, "text": "RUN …"},
///                   "status": "executed", "seconds": 0.41, "cacheKey": "sha256:…", "layer": "sha256:…",
///                   "timing": {"rootfsSeconds": 0.02, "commandSeconds": 0.3, "layerSeconds": 0.09}} ] }
/// ```
public struct BuildMetadata: Sendable, Codable {
    /// The manifest digest.
    public var imageDigest: String
    /// The config digest.
    public var configDigest: String
    /// Base images and their manifest digests.
    public var baseImages: [String: String]
    /// Every step.
    public var steps: [StepRecord]

    enum CodingKeys: String, CodingKey {
        case imageDigest = "containerimage.digest"
        case configDigest = "containerimage.config.digest"
        case baseImages = "kiln.baseImages"
        case steps = "kiln.steps"
    }

    /// The metadata of `result`.
    public init(_ result: BuildResult) {
        imageDigest = result.manifestDigest.description
        configDigest = result.configDigest.description
        baseImages = result.baseImages.mapValues(\.description)
        steps = result.steps
    }

    /// Pretty, key-sorted JSON.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
