import Foundation

/// `buildah` (Debian's, 1.28) as the reference builder the build tests compare Kiln with: run as
/// root with the vfs storage driver and chroot isolation, so it needs neither a daemon nor
/// overlay mounts. Each value owns a private storage root and run root in a temporary folder,
/// so tests never share or pollute `/var/lib/containers`; ``remove()`` deletes them.
public struct Buildah: Sendable {
    /// The buildah binary: `$KILN_BUILDAH`, else `/usr/bin/buildah`.
    public static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["KILN_BUILDAH"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: "/usr/bin/buildah")
    }()

    /// Whether buildah is installed; tests that need it are disabled otherwise.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    /// Why buildah tests are skipped, for `.enabled(if:_:)`.
    public static let unavailableReason = "buildah is not installed (apt-get install buildah)"

    /// The temporary folder holding this instance's storage (`root/`) and run state (`runroot/`).
    public let directory: URL

    /// A buildah with fresh, empty storage.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-buildah-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// What one `buildah bud` was asked to do.
    public struct BuildRequest: Sendable {
        /// The build context directory.
        public var context: URL
        /// The Dockerfile (`-f`).
        public var dockerfile: URL
        /// The local name the image is tagged with (`-t`).
        public var tag: String
        /// `--build-arg K=V` for each entry, sorted by key.
        public var buildArgs: [String: String] = [:]
        /// `--target`, when set.
        public var target: String?
        /// `--layers`: one layer per filesystem step, like `docker build`. With `false` buildah
        /// squashes every new step into a single layer.
        public var layers = true
        /// Further `bud` arguments, placed before the context.
        public var extraArguments: [String] = []

        /// A request to build `dockerfile` in `context` as `tag`.
        public init(context: URL, dockerfile: URL, tag: String) {
            self.context = context
            self.dockerfile = dockerfile
            self.tag = tag
        }
    }

    /// The global options every command gets: private vfs storage.
    var storageArguments: [String] {
        ["--storage-driver", "vfs", "--root", directory.appendingPathComponent("root").path,
         "--runroot", directory.appendingPathComponent("runroot").path]
    }

    /// The `bud` command line for `request` (without the binary), for running and for messages.
    public func budArguments(_ request: BuildRequest) -> [String] {
        var arguments = storageArguments + [
            "bud", "--isolation", "chroot", "--format", "docker", "--layers=\(request.layers)",
            // Bases come from the tests' loopback registry, which speaks plain HTTP.
            "--tls-verify=false", "-f", request.dockerfile.path, "-t", request.tag,
        ]
        for (key, value) in request.buildArgs.sorted(by: { $0.key < $1.key }) {
            arguments += ["--build-arg", "\(key)=\(value)"]
        }
        if let target = request.target { arguments += ["--target", target] }
        return arguments + request.extraArguments + [request.context.path]
    }

    /// Runs `buildah bud`; the result carries the status and output whether or not it built.
    public func build(_ request: BuildRequest) throws -> KilnBinary.Result {
        try ProcessRunner.run(Self.binary, budArguments(request))
    }

    /// Pushes the local image `tag` to `destination`, a containers-transport reference such as
    /// `oci:/path/layout:latest` or `docker://127.0.0.1:5000/name:tag` (plain HTTP allowed).
    public func push(_ tag: String, to destination: String) throws {
        try ProcessRunner.checked(Self.binary, storageArguments + ["push", "--tls-verify=false", tag, destination])
    }

    /// The image's Docker-format config document as buildah stores it (`buildah inspect`'s
    /// `Docker` member: `config`, `history`, `rootfs.diff_ids`, …). Read from here rather than
    /// from a pushed OCI layout, whose conversion drops Docker-only fields such as Healthcheck.
    public func dockerConfig(of tag: String) throws -> [String: Any] {
        let result = try ProcessRunner.checked(Self.binary, storageArguments + ["inspect", "--type", "image", tag])
        guard let inspected = try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any],
              let docker = inspected["Docker"] as? [String: Any] else {
            throw ProcessFailure(description: "buildah inspect \(tag): no Docker config in \(result.stdout.prefix(200))")
        }
        return docker
    }

    /// Deletes every image and container of this instance and its folder.
    public func remove() {
        _ = try? ProcessRunner.run(Self.binary, storageArguments + ["rm", "--all"])
        _ = try? ProcessRunner.run(Self.binary, storageArguments + ["rmi", "--all", "--force"])
        try? FileManager.default.removeItem(at: directory)
    }
}
