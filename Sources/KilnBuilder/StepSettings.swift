import Foundation
import KilnArchive
import KilnExecutor
import KilnFileOps
import KilnOCI

/// What a RUN step may use, taken from the request once: the same for every RUN of the
/// build, checked before anything runs (``BuildPlan/checkRunRequirements(_:sourceLines:emulation:chrootFacts:)``)
/// and granted while it runs.
struct RunGrants: Sendable {
    /// How a RUN is isolated (`--isolation`).
    var isolation: Isolation
    /// The network a RUN gets unless it says otherwise (`--network`).
    var network: NetworkMode
    /// What `--allow` granted.
    var entitlements: Set<Entitlement>
    /// `--secret id=…`: the files a `RUN --mount=type=secret` reads.
    var secrets: [String: URL]
    /// `--ssh id=…`: the agent sockets a `RUN --mount=type=ssh` forwards.
    var sshAgents: [String: URL]
}

/// How steps use the cache (`--no-cache`, `--no-cache-filter`, `--explain-cache`).
struct CacheUse: Sendable {
    var noCache: Bool
    var noCacheFilter: Set<String>
    /// Keys an earlier build of this invocation made (another platform): looked up even
    /// under `--no-cache`.
    var keysBuiltThisRun: Set<Digest>
    var explainCache: Bool
}

/// The Dockerfile and contexts a build reads: where COPY finds its files and errors point.
struct BuildSource: Sendable {
    /// The Dockerfile's name as errors print it.
    var dockerfileName: String
    /// The Dockerfile's path when it lies in the context (then it is excluded from it).
    var dockerfile: URL?
    /// The main context.
    var contextDirectory: URL
    /// `--build-context NAME=…`.
    var namedContexts: [NamedContext]
    /// The Dockerfile's lines, for errors found while building.
    var lines: [String]

    /// The directory of the directory context `name` (``StageSource/context(_:)`` names it),
    /// as the main context is read: the `.dockerignore` at its root applies.
    func contextSource(named name: String) throws -> FileOperationSource {
        guard let directory = namedContexts.named(name)?.directory else {
            throw BuildError.namedContext(name, "is not a local directory context")
        }
        return .context(directory: directory, dockerfile: nil)
    }
}

/// How a build's layers are made and assembled: where commit points fall, and the output
/// transforms applied to the layers of the image (never to what the cache keeps).
struct LayerPolicy: Sendable {
    var commitMode: CommitMode
    /// The compression layers are written in.
    var compression: LayerCompression
    /// `SOURCE_DATE_EPOCH`: the image's times, and the clamp of its layers' timestamps.
    var sourceDateEpoch: Int64?
    /// `--squash`.
    var squash: Bool

    /// Whether the image holds another blob in `layer`'s place (``BuildSession/outputLayers(_:)``
    /// rewrites it): a layer a step made, when `SOURCE_DATE_EPOCH` clamps timestamps or it is in
    /// another compression than the one asked for. Base image layers are left as they are (as
    /// BuildKit leaves them).
    func derivesOutputLayer(_ layer: StageLayer) -> Bool {
        layer.madeByStep && (sourceDateEpoch != nil || layer.descriptor.mediaType != compression.mediaType)
    }
}

extension BuildRequest {
    /// What RUN steps may use.
    var runGrants: RunGrants {
        RunGrants(isolation: isolation, network: network, entitlements: entitlements, secrets: secrets, sshAgents: sshAgents)
    }

    /// How steps use the cache.
    var cacheUse: CacheUse {
        CacheUse(noCache: noCache, noCacheFilter: noCacheFilter, keysBuiltThisRun: keysBuiltThisRun, explainCache: explainCache)
    }

    /// How layers are made and assembled.
    var layerPolicy: LayerPolicy {
        LayerPolicy(commitMode: commitMode, compression: compression, sourceDateEpoch: sourceDateEpoch, squash: squash)
    }

    /// The Dockerfile and contexts, with the Dockerfile's lines.
    func source(lines: [String]) -> BuildSource {
        BuildSource(dockerfileName: dockerfileName, dockerfile: dockerfile, contextDirectory: contextDirectory,
                    namedContexts: namedContexts, lines: lines)
    }
}
