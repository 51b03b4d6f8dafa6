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
    /// a `TARGET*` arg, so after the first platform they are cache hits, not second runs.
    /// Nothing is returned, and nothing exported, unless every platform built.
    public func build(_ request: BuildRequest, platforms: [BuildPlatform],
                      events: @escaping BuildEventSink = { _ in }) async throws -> MultiPlatformBuildResult {
        guard !platforms.isEmpty else { throw BuildError.invalidOption("no platform to build for") }
        var builds: [MultiPlatformBuildResult.PlatformBuild] = []
        for (number, platform) in platforms.enumerated() {
            events(.info("building for \(platform) (\(number + 1) of \(platforms.count))"))
            var single = request
            single.platform = platform
            builds.append(.init(platform: platform, result: try await build(single, events: events)))
        }
        let index: AssembledIndex
        do {
            index = try AssembledIndex(images: builds.map(\.result.image), mediaTypes: request.mediaTypes)
        } catch {
            throw BuildError.invalidOption("the platforms' images cannot be joined in an index: \(error)")
        }
        return MultiPlatformBuildResult(builds: builds, index: index)
    }
}
