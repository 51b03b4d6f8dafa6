import Foundation
import KilnDockerfile
import KilnImage
import KilnOCI

/// What a build for several platforms produced: each platform's build, and the index joining
/// their images.
public struct MultiPlatformBuildResult: Sendable {
    /// Each platform's build, in the order the platforms were asked for.
    public var builds: [PlatformBuild]
    /// The index over the builds' images, in the same order.
    public var index: AssembledIndex
    /// The layers of every platform's image pushed while the builds ran, for the exporter to wait
    /// for; nil without a push target.
    public var layerUploads: LayerUploadPipeline?

    /// One platform's build.
    public struct PlatformBuild: Sendable {
        /// The target platform.
        public var platform: BuildPlatform
        /// Its build.
        public var result: BuildResult
    }
}

extension Builder {
    /// Builds `request` once per platform of `platforms`, one after another, and joins the
    /// images in one index of the request's media-type family.
    ///
    /// Each platform's build is exactly the build `--platform` alone would run (same cache
    /// keys, same image digest). Stages that run on the build platform (`FROM
    /// --platform=$BUILDPLATFORM`) have the same keys in every platform's build unless they read
    /// a `TARGET*` arg, so after the first platform they are cache hits, not second runs (also
    /// under `--no-cache`: ``BuildRequest/keysBuiltThisRun``).
    /// Nothing is returned, and nothing exported, unless every platform built. With `push`, every
    /// platform's layers are pushed as they are made, the first platform's while the next builds
    /// (``build(_:pushingLayersTo:events:)``); the images and the index are the exporter's, after.
    public func build(_ request: BuildRequest, platforms: [BuildPlatform], pushingLayersTo push: LayerPushTarget? = nil,
                      events: @escaping BuildEventSink = { _ in }) async throws -> MultiPlatformBuildResult {
        try await Self.pushingLayers(to: push, events: events) { pipeline in
            try await build(request, platforms: platforms, layerUploads: pipeline, events: events)
        }
    }

    private func build(_ request: BuildRequest, platforms: [BuildPlatform], layerUploads: LayerUploadPipeline?,
                       events: @escaping BuildEventSink) async throws -> MultiPlatformBuildResult {
        guard !platforms.isEmpty else { throw BuildError.invalidOption("no platform to build for") }
        var builds: [MultiPlatformBuildResult.PlatformBuild] = []
        var single = request
        // Every platform is refused or accepted before the first one pulls anything: an arm64
        // stage with no emulator must not cost an amd64 build first.
        for platform in platforms {
            single.platform = platform
            _ = try checkBeforePulling(single)
        }
        for (number, platform) in platforms.enumerated() {
            events(.info("building for \(platform) (\(number + 1) of \(platforms.count))"))
            single.platform = platform
            let result = try await build(single, layerUploads: layerUploads, events: events)
            builds.append(.init(platform: platform, result: result))
            // Even under --no-cache, a stage the platforms share is not run a second time.
            single.keysBuiltThisRun.formUnion(result.steps.compactMap { $0.cacheKey.flatMap(Digest.init) })
        }
        let index: AssembledIndex
        do {
            index = try AssembledIndex(images: builds.map(\.result.image), mediaTypes: request.mediaTypes)
        } catch {
            throw BuildError.invalidOption("the platforms' images cannot be joined in an index: \(error)")
        }
        return MultiPlatformBuildResult(builds: builds, index: index, layerUploads: layerUploads)
    }
}
