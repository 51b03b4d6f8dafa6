import ArgumentParser
import Foundation
import KilnArchive
import KilnBuilder
import KilnImage
import KilnOCI
import KilnStorage
#if canImport(Glibc)
import Glibc
#endif

/// `kiln import`: makes a one-layer image from a root filesystem, like `docker import`.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Create a single-layer image from a root filesystem directory or tarball."
    )

    /// Codecs offered on the command line.
    enum Compression: String, ExpressibleByArgument, CaseIterable {
        case gzip, zstd, none
    }

    @Argument(help: "A root filesystem: a directory, a tarball (plain, gzip or zstd), or - for a tarball on standard input.")
    var source: String

    @Option(help: "Where to write: type=oci,dest=DIR[,tar=true] or type=docker,dest=FILE.tar.",
            transform: OutputSpec.init(parsing:))
    var output: OutputSpec

    @Option(help: "The image name and tag (default: import:latest).")
    var tag: String?

    @Option(help: "A Dockerfile instruction to apply, as in a Dockerfile: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.")
    var change: [String] = []

    @Option(help: "Layer compression for OCI output (docker-archives always hold plain tars).")
    var compression: Compression = .gzip

    @Option(help: "The image's platform, os/arch[/variant] (default: this machine's).")
    var platform: String?

    /// Checks everything typed on the command line before any work starts.
    func validate() throws {
        _ = try settings()
    }

    /// The config changes, platform and name the command line asks for.
    private func settings() throws -> (config: ContainerConfig, platform: Platform, reference: Reference, refName: String) {
        let platform = try platform.map { try Platform(parsing: $0) } ?? Platform.host
        var image = ImageConfig(platform: platform)
        do { try ConfigChanges(change).apply(to: &image) } catch {
            throw ArgumentParser.ValidationError(error.description)
        }
        let reference = try Reference(parsing: tag ?? "import:latest")
        guard reference.digest == nil, let refName = reference.tag else {
            throw ArgumentParser.ValidationError("--tag \"\(tag ?? "")\": expected NAME[:TAG] without a digest")
        }
        return (image.config, platform, reference, refName)
    }

    func run() async throws {
        let (containerConfig, platform, reference, refName) = try settings()
        let sourceURL = URL(fileURLWithPath: source == "-" ? "/dev/stdin" : source).standardizedFileURL
        var info = stat()
        guard stat(sourceURL.path, &info) == 0 else {
            throw CommandFailure("cannot import \(source): \(String(cString: strerror(errno)))")
        }
        try Self.checkWritable(output.destination)
        let codec: LayerCompression
        switch (output.kind, compression) {
        case (.docker, _), (.oci, .none): codec = .none
        case (.oci, .gzip): codec = .parallelGzip()
        case (.oci, .zstd): codec = .zstd()
        }
        let job = ImportJob(
            source: sourceURL, sourceIsDirectory: (info.st_mode & S_IFMT) == S_IFDIR, output: output,
            compression: codec, sourceDateEpoch: try SourceDateEpoch.parse(ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"]), platform: platform,
            containerConfig: containerConfig, reference: reference, refName: refName)
        TerminalText.print(try await onOwnThread { try job.perform() })
    }

    /// Fails early, before the layer is written, when the destination's directory cannot take it.
    private static func checkWritable(_ destination: URL) throws {
        let parent = destination.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("cannot write \(destination.path): \(parent) is not a directory")
        }
        guard access(parent, W_OK) == 0 else {
            throw CommandFailure("cannot write \(destination.path): \(String(cString: strerror(errno)))")
        }
    }
}
