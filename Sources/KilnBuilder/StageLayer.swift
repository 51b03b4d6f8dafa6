import KilnCache
import KilnDistribution
import KilnOCI

/// A base image as the build resolved it, with the source its blobs come from.
struct BaseImage: Sendable {
    /// The manifest and config.
    var resolved: ResolvedImage
    /// Where layer blobs are fetched from, when a step needs their files.
    var source: any ImageSource
}

/// One layer of a stage's image: made by a step (its blob in the content store) or
/// inherited from a base image (its blob fetched only when needed).
struct StageLayer: Sendable {
    /// The blob.
    var descriptor: Descriptor
    /// The uncompressed digest.
    var diffID: Digest
    /// The base image the blob comes from; nil for layers this build (or its cache) made.
    var origin: BaseImage?

    /// The layer a cache entry or a step recorded.
    init(_ layer: CachedLayer) {
        self.descriptor = layer.descriptor
        self.diffID = layer.diffID
        self.origin = nil
    }

    /// A base image layer.
    init(descriptor: Descriptor, diffID: Digest, origin: BaseImage) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.origin = origin
    }
}

/// What a finished stage hands to the stages that need it: its image and the key that
/// names its final filesystem.
struct StageOutcome: Sendable {
    /// The stage's image config (history included).
    var config: ImageConfig
    /// Its layers, base first.
    var layers: [StageLayer]
    /// The last filesystem step's cache key, the base manifest digest, or nil (scratch):
    /// the parent of the first filesystem step built on this one.
    var chainKey: Digest?
    /// Steps this stage ran or found cached, for the metadata file.
    var records: [StepRecord]
    /// The image at the bottom of the stage's chain (through `FROM stage`), if any.
    var baseImage: ResolvedImage? = nil

    /// The starting point of a stage `FROM base`.
    static func from(_ base: BaseImage) -> StageOutcome {
        var config = base.resolved.config
        config.rootfs = RootFS(diffIDs: [])
        let layers = zip(base.resolved.manifest.layers, base.resolved.config.rootfs.diffIDs).map {
            StageLayer(descriptor: $0, diffID: $1, origin: base)
        }
        return StageOutcome(config: config, layers: layers, chainKey: base.resolved.manifestDigest, records: [],
                            baseImage: base.resolved)
    }

    /// The starting point of a stage `FROM scratch`.
    static func scratch(platform: Platform) -> StageOutcome {
        StageOutcome(config: ImageConfig(platform: platform), layers: [], chainKey: nil, records: [])
    }
}

/// One step's result, as the metadata file lists it.
public struct StepRecord: Sendable, Hashable, Codable {
    /// The step.
    public var step: StepIdentity
    /// Cached, executed or metadata.
    public var status: StepCacheStatus
    /// Wall time in seconds.
    public var seconds: Double
    /// The cache key, for filesystem steps.
    public var cacheKey: String?
    /// The layer's digest, when the step made one.
    public var layer: String?
    /// For an executed step, where its time went.
    public var timing: StepTiming?
}

/// Where an executed step's time went: Kiln's own overhead apart from the command's.
public struct StepTiming: Sendable, Hashable, Codable {
    /// Fetching base layers, materialising the chain, mounting the step's rootfs.
    public var rootfsSeconds: Double
    /// The RUN command (or the file operation) itself.
    public var commandSeconds: Double
    /// Finding the changes, writing and compressing the layer, storing the blob.
    public var layerSeconds: Double
}
