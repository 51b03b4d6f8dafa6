import Foundation
import KilnArchive
import KilnCache
import KilnDistribution
import KilnDockerfile
import KilnExecutor
import KilnOCI

/// Everything `kiln build` was asked to do, as values: the builder reads nothing else.
public struct BuildRequest: Sendable {
    /// The build context directory (a tar on stdin is extracted into one first).
    public var contextDirectory: URL
    /// The Dockerfile's text.
    public var dockerfileText: String
    /// How errors name the Dockerfile (`Dockerfile`, `build/app.Dockerfile`, `-`).
    public var dockerfileName: String
    /// The Dockerfile's path when it is a file (its `<name>.dockerignore` applies); nil for `-f -`.
    public var dockerfile: URL?
    /// `-t` references, in order; the first names the default output.
    public var tags: [String]
    /// `--build-arg` values.
    public var buildArgs: [String: String]
    /// `--target`; nil builds the last stage.
    public var target: String?
    /// `--label` values, added to the final image's labels.
    public var labels: [String: String]
    /// `--platform`; the host's platform when nil.
    public var platform: BuildPlatform
    /// `--no-cache`: skip lookups (entries are still written).
    public var noCache: Bool
    /// `--no-cache-filter`: stages (by name or index) whose steps are not looked up.
    public var noCacheFilter: Set<String> = []
    /// Keys that an earlier build of this same invocation made (a multi-platform build's earlier
    /// platforms): looked up even where `--no-cache` or `--no-cache-filter` skips lookups, so a
    /// stage every platform shares runs once and all images get the same result of it.
    public var keysBuiltThisRun: Set<Digest> = []
    /// `--explain-cache`: say, for every miss, which input differs from the closest entry.
    public var explainCache = false
    /// `--runtime`.
    public var runtime: RuntimeChoice
    /// `--network`: what RUN steps without `--network` get.
    public var network: NetworkMode
    /// `--allow`: the entitlements RUN steps may use (`network.host`, `security.insecure`).
    public var entitlements: Set<Entitlement> = []
    /// `--compression`.
    public var compression: LayerCompression
    /// The media types of the image's manifest, config and layers (`oci-mediatypes=false` in
    /// `--output`: Docker's). One family per image; set before the build, checked by
    /// ``checkMediaTypes()``.
    public var mediaTypes: MediaTypeFamily = .oci
    /// `--build-context NAME=oci-layout://…`: names that `FROM` and `COPY --from` resolve to.
    public var namedContexts: [NamedContext]
    /// `--secret id=…,src=…`: files RUN steps may mount, by id; never stored.
    public var secrets: [String: URL]
    /// `--ssh ID=…`: the ssh agent sockets RUN steps may reach through `--mount=type=ssh`, by id
    /// (`default` when the mount names none); never stored.
    public var sshAgents: [String: URL] = [:]
    /// How RUN steps are isolated here (``Isolation``): it picks the executor's backend, and in
    /// `chroot` a RUN it cannot honour is refused before anything is pulled.
    public var isolation: Isolation = .root
    /// `--remote-cache-mounts`: which cache mount ids follow the registry caches.
    public var remoteCacheMounts: CacheMountSelection = .all
    /// `--cache-mount-max-size`: the bytes of files one cache mount id keeps (nil: no cap).
    public var cacheMountMaximumSize: Int64?
    /// SOURCE_DATE_EPOCH: clamps layer mtimes and fixes `created`.
    public var sourceDateEpoch: Int64?
    /// `--commit`: which steps make layers (every filesystem step, or Makisu's explicit commit points).
    public var commitMode: CommitMode = .all
    /// `--squash`: the target stage's own layers become one layer on top of its base's.
    public var squash = false

    /// Creates a request; only the context and the Dockerfile text are required.
    public init(contextDirectory: URL, dockerfileText: String, dockerfileName: String = "Dockerfile",
                dockerfile: URL? = nil, tags: [String] = [], buildArgs: [String: String] = [:], target: String? = nil,
                labels: [String: String] = [:], platform: BuildPlatform = .current, noCache: Bool = false,
                runtime: RuntimeChoice = .auto, network: NetworkMode = .default,
                compression: LayerCompression = .parallelGzip(), namedContexts: [NamedContext] = [],
                secrets: [String: URL] = [:], sourceDateEpoch: Int64? = nil) {
        self.contextDirectory = contextDirectory
        self.dockerfileText = dockerfileText
        self.dockerfileName = dockerfileName
        self.dockerfile = dockerfile
        self.tags = tags
        self.buildArgs = buildArgs
        self.target = target
        self.labels = labels
        self.platform = platform
        self.noCache = noCache
        self.runtime = runtime
        self.network = network
        self.compression = compression
        self.namedContexts = namedContexts
        self.secrets = secrets
        self.sourceDateEpoch = sourceDateEpoch
    }
}

extension BuildRequest {
    /// Refuses, before anything is built, layers ``mediaTypes`` cannot describe: zstd with
    /// Docker media types (schema 2 has no zstd layer type).
    public func checkMediaTypes() throws(BuildError) {
        do { _ = try mediaTypes.layer(compression.mediaType) } catch {
            throw BuildError.invalidOption("compression=zstd needs OCI media types: \(error), or --compression gzip")
        }
    }

    /// Refuses, once the base images are resolved and before any step runs, a base layer that
    /// ends up in the image (the target stage's chain starts FROM that image) and that
    /// ``mediaTypes`` cannot describe: base layers keep their compression, so a zstd base
    /// cannot be written with Docker media types.
    func checkBaseLayers(of plan: BuildPlan, bases: [BaseImageKey: BaseImage]) throws {
        var stage = plan.stages.first { $0.index == plan.target }
        while let current = stage {
            switch current.base {
            case .scratch, .context:
                return
            case .stage(let index):
                stage = plan.stages.first { $0.index == index }
            case .image(let word):
                let key = BaseImageKey(word: word, platform: try Builder.platform(current.platform, default: platform))
                for layer in bases[key]?.resolved.manifest.layers ?? [] {
                    do { _ = try mediaTypes.layer(layer.mediaType) } catch { throw BuildError.baseImage(word, "\(error)") }
                }
                return
            }
        }
    }
}
