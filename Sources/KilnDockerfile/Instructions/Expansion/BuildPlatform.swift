/// An `os/arch[/variant]` platform, as the predefined platform `ARG`s spell it.
public struct BuildPlatform: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// `linux`.
    public var os: String
    /// `amd64`, `arm64`, …
    public var architecture: String
    /// `v7`, `v8`, … or empty.
    public var variant: String

    /// Creates a platform.
    public init(os: String, architecture: String, variant: String = "") {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(), variant: parts.count == 3 ? parts[2] : "")
    }

    /// `linux/amd64` or `linux/arm/v7`.
    public var description: String {
        variant.isEmpty ? "\(os)/\(architecture)" : "\(os)/\(architecture)/\(variant)"
    }

    /// The platform this process runs on (Linux; architecture from the compiler target).
    public static let current: BuildPlatform = {
        #if arch(arm64)
        return BuildPlatform(os: "linux", architecture: "arm64")
        #elseif arch(arm)
        return BuildPlatform(os: "linux", architecture: "arm", variant: "v7")
        #else
        return BuildPlatform(os: "linux", architecture: "amd64")
        #endif
    }()
}

/// ARGs that exist without being declared.
public enum PredefinedArgs {
    /// Platform ARGs: set in the global scope (usable in `FROM`), and inside a stage once
    /// declared with `ARG NAME` (no value).
    public static func platformArgs(target: BuildPlatform, build: BuildPlatform) -> [String: String] {
        [
            "TARGETPLATFORM": target.description, "TARGETOS": target.os,
            "TARGETARCH": target.architecture, "TARGETVARIANT": target.variant,
            "BUILDPLATFORM": build.description, "BUILDOS": build.os,
            "BUILDARCH": build.architecture, "BUILDVARIANT": build.variant,
        ]
    }

    /// The names of ``platformArgs(target:build:)``.
    public static let platformArgNames: Set<String> = [
        "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
    ]

    /// Proxy ARGs: a `--build-arg` of these reaches every `RUN`'s environment without a
    /// declaration, is never reported unused, and is not part of any cache key.
    public static let proxyArgNames: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ]
}

/// What a build plan is computed for.
public struct BuildOptions: Sendable, Hashable {
    /// `--build-arg NAME=value` values.
    public var buildArgs: [String: String]
    /// `--target`; `nil` builds the last stage.
    public var target: String?
    /// The platform the image is built for.
    public var targetPlatform: BuildPlatform
    /// The platform the build runs on.
    public var buildPlatform: BuildPlatform
    /// Image config `Env` (`NAME=value` entries) of external base images, keyed by the expanded
    /// `FROM` reference, so that `ENV PATH=/x:$PATH` sees the image's `PATH`. Images not listed
    /// start with an empty environment (plus the default `PATH`).
    public var imageEnvironment: [String: [String]]
    /// Names of the named build contexts that are local directories (`--build-context
    /// NAME=DIR`): a `COPY --from`/mount `from=` naming one exactly reads it (``StageSource/context(_:)``)
    /// unless a stage has that name; a `FROM` naming one is an error.
    public var directoryContexts: Set<String>

    /// Creates options.
    public init(
        buildArgs: [String: String] = [:], target: String? = nil,
        targetPlatform: BuildPlatform = .current, buildPlatform: BuildPlatform = .current,
        imageEnvironment: [String: [String]] = [:], directoryContexts: Set<String> = []
    ) {
        self.buildArgs = buildArgs
        self.target = target
        self.targetPlatform = targetPlatform
        self.buildPlatform = buildPlatform
        self.imageEnvironment = imageEnvironment
        self.directoryContexts = directoryContexts
    }
}
