import Foundation
import KilnOCI

/// The `--metadata-file` document: the image's digests and, per step, its timing and
/// whether the cache answered it.
///
/// ```
/// { "containerimage.digest": "sha256:…", "containerimage.config.digest": "sha256:…",
///   "kiln.baseImages": {"busybox": "sha256:…"}, "kiln.unpackedLayers": 0,
///   "kiln.steps": [ {"step": {"number": 2, "stage": "0", "position": 2, "stageSteps": 3, "text": "RUN …"},
///                   "status": "executed", "seconds": 0.41, "cacheKey": "sha256:…", "layer": "sha256:…",
///                   "timing": {"rootfsSeconds": 0.02, "commandSeconds": 0.3, "layerSeconds": 0.09,
///                              "uploadSeconds": 0.2}} ] }
/// ```
///
/// A build for several platforms gives the index's digest as `containerimage.digest`, no
/// config digest, each platform's digests under `kiln.platforms`, and every platform's steps
/// (each record names its platform), platform by platform.
public struct BuildMetadata: Sendable, Codable {
    /// The manifest digest, or the index digest of a multi-platform build.
    public var imageDigest: String
    /// The config digest (none for an index).
    public var configDigest: String?
    /// Base images and their manifest digests (for several platforms: `word@platform`).
    public var baseImages: [String: String]
    /// Every step.
    public var steps: [StepRecord]
    /// A multi-platform build's images.
    public var platforms: [PlatformImage]?
    /// How many layers the build unpacked into layer snapshots or chain directories (a build
    /// on a machine that already ran or unpacked everything it stacks unpacks none).
    public var unpackedLayers: Int

    /// One platform's image in a multi-platform build.
    public struct PlatformImage: Sendable, Codable, Hashable {
        /// `os/arch[/variant]` as asked for.
        public var platform: String
        /// Its manifest digest.
        public var imageDigest: String
        /// Its config digest.
        public var configDigest: String

        enum CodingKeys: String, CodingKey {
            case platform
            case imageDigest = "containerimage.digest"
            case configDigest = "containerimage.config.digest"
        }
    }

    enum CodingKeys: String, CodingKey {
        case imageDigest = "containerimage.digest"
        case configDigest = "containerimage.config.digest"
        case baseImages = "kiln.baseImages"
        case steps = "kiln.steps"
        case platforms = "kiln.platforms"
        case unpackedLayers = "kiln.unpackedLayers"
    }

    /// The metadata of `result`.
    public init(_ result: BuildResult) {
        imageDigest = result.manifestDigest.description
        configDigest = result.configDigest.description
        baseImages = result.baseImages.mapValues(\.description)
        steps = result.steps
        unpackedLayers = result.unpackedLayers
    }

    /// The metadata of a multi-platform build.
    public init(_ result: MultiPlatformBuildResult) {
        imageDigest = result.index.digest.description
        configDigest = nil
        var bases: [String: String] = [:]
        for build in result.builds {
            for (word, digest) in build.result.baseImages { bases["\(word)@\(build.platform)"] = digest.description }
        }
        baseImages = bases
        steps = result.builds.flatMap(\.result.steps)
        unpackedLayers = result.builds.reduce(0) { $0 + $1.result.unpackedLayers }
        platforms = result.builds.map {
            PlatformImage(platform: $0.platform.description, imageDigest: $0.result.manifestDigest.description,
                          configDigest: $0.result.configDigest.description)
        }
    }

    /// Adds each executed step's upload time (``StepTiming/uploadSeconds``) from `uploadSeconds`,
    /// the layer uploads of the build by layer digest.
    public mutating func recordUploads(_ uploadSeconds: [Digest: Double]) {
        for index in steps.indices {
            guard steps[index].timing != nil, let layer = steps[index].layer.flatMap(Digest.init),
                  let seconds = uploadSeconds[layer] else { continue }
            steps[index].timing?.uploadSeconds = seconds
        }
    }

    /// Pretty, key-sorted JSON.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
