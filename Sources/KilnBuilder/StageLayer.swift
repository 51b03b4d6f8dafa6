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

/// How a build names a resolved base image: the word `FROM`/`COPY --from` wrote and the platform
/// of the stage that wrote it. One word may be resolved for two platforms (`FROM
/// --platform=$BUILDPLATFORM alpine` and `FROM alpine` in a cross-build), each its own image.
struct BaseImageKey: Hashable, Sendable {
    /// The reference as written, after expansion.
    var word: String
    /// The platform it was resolved for.
    var platform: Platform
}

extension Dictionary where Key == BaseImageKey {
    /// One value per word, for what is keyed by word alone (the metadata file, `ENV` expansion):
    /// the first platform in sorted order, so the choice never depends on hashing.
    func byWord() -> [String: Value] {
        var result: [String: Value] = [:]
        for key in keys.sorted(by: { ($0.word, $0.platform.description) < ($1.word, $1.platform.description) })
        where result[key.word] == nil {
            result[key.word] = self[key]
        }
        return result
    }
}

/// Where a layer's blob comes from when it is not in the content store yet.
enum LayerOrigin: Sendable {
    /// A base image's source (registry or layout).
    case base(BaseImage)
    /// The cache backend that answered a hit.
    case cache(CacheHit)
}

/// One layer of a stage's image: made by a step (its blob in the content store), found in
/// the cache, or inherited from a base image (a blob from elsewhere fetched only when needed).
struct StageLayer: Sendable {
    /// The blob.
    var descriptor: Descriptor
    /// The uncompressed digest.
    var diffID: Digest
    /// Where the blob comes from; nil for layers this build made or the local cache holds.
    var origin: LayerOrigin?
    /// Whether a step of this Dockerfile made it (or the cache answered for one), as opposed to
    /// a base image's layer: only those take the output transforms (compression, timestamps).
    var madeByStep: Bool
    /// The step that made it or was answered from the cache for it (`#5 RUN make`), for errors.
    var step: String?

    /// The layer a cache entry or a step recorded.
    init(_ layer: CachedLayer, origin: LayerOrigin? = nil, madeByStep: Bool, step: String? = nil) {
        self.descriptor = layer.descriptor
        self.diffID = layer.diffID
        self.origin = origin
        self.madeByStep = madeByStep
        self.step = step
    }

    /// What this layer is to the build, for an error about its blob: `layer 1 of the image
    /// being exported, from base image busybox:latest`, `layer 4 of …, made by step #5 RUN make`.
    func usage(at index: Int, of whole: String) -> String {
        let layer = "layer \(index + 1) of \(whole)"
        if case .base(let base)? = origin { return "\(layer), from base image \(base.resolved.reference)" }
        if let step { return "\(layer), made by step \(step)" }
        return layer
    }

    /// A base image layer.
    init(descriptor: Descriptor, diffID: Digest, origin: BaseImage) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.origin = .base(origin)
        self.madeByStep = false
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
    /// How many of ``layers`` and of the config's history entries the stage started with (its
    /// `FROM`'s): what `--squash` keeps as they are.
    var inherited = (layers: 0, history: 0)

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
    /// `hit` or `miss` for filesystem steps (whose cache was consulted).
    public var cache: String?
    /// `--explain-cache`: for a miss, which input differs from the closest earlier entry.
    public var explain: String?
    /// The platform of the step's stage (`linux/arm64`), set for every step.
    public var platform: String?
    /// True for a RUN that executed under emulation (QEMU through binfmt_misc); absent otherwise.
    public var emulated: Bool?
    /// For an executed step, what Kiln's process read and wrote while it prepared the rootfs,
    /// ran the step and wrote its layer (stages running at the same time count too).
    public var io: ProcessIO?
}

/// Where an executed step's time went: Kiln's own overhead apart from the command's.
public struct StepTiming: Sendable, Hashable, Codable {
    /// Fetching base layers, materialising the chain, mounting the step's rootfs.
    public var rootfsSeconds: Double
    /// The RUN command (or the file operation) itself.
    public var commandSeconds: Double
    /// Finding the changes, writing and compressing the layer, storing the blob.
    public var layerSeconds: Double
    /// With `--push`: uploading the step's layer while later steps ran (absent without a push,
    /// or when the layer was not pushed during the build).
    public var uploadSeconds: Double?
}
