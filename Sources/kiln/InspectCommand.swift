import ArgumentParser
import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage

/// `kiln inspect`: shows an image stored on disk or in a registry.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an image from an OCI layout, a docker-archive or a registry: digest, platform, config, layers."
    )

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "oci:PATH[:REF] (a layout directory or tar), docker-archive:FILE[:TAG], or a registry reference.",
              transform: InspectTarget.init(parsing:))
    var image: InspectTarget

    @Option(help: "text (default) or json (the manifest and config documents).")
    var format: Format = .text

    @Flag(help: "Print the manifest's exact bytes and nothing else (the index's, when the reference names one).")
    var raw = false

    @Option(help: "For an index: the platform to show, os/arch[/variant] (default: this machine's), or all (only the list of platforms).")
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        let wanted: Platform?
        do { wanted = try platform == "all" ? nil : platform.map { try Platform(parsing: $0) } ?? .host } catch {
            throw ArgumentParser.ValidationError("--platform: \(error)")
        }
        let location: ImageLocation
        switch image {
        case .local(let local): location = local
        case .registry(let reference): return try await inspectRegistry(reference, platform: wanted)
        }
        let (raw, format, named) = (self.raw, self.format, self.platform != nil)
        let output = try await onOwnThread { () throws -> Data in
            if location.transport == .oci {
                let layout = try OCILayout(at: location.path)
                let entry = try layout.entry(reference: location.reference)
                if entry.mediaType.isIndex {
                    let (bytes, index) = try layout.nestedIndex(entry)
                    if raw { return bytes }
                    let chosen = try Self.pick(in: index, platform: wanted, named: named, of: location.path.path)
                    let image = try chosen.map { try layout.image(descriptor: $0) }
                    return try Self.renderIndex(digest: entry.digest, mediaType: entry.mediaType, bytes: bytes, index: index,
                                                image: image, platform: wanted, format)
                }
            }
            let image = try location.open()
            if raw { return try image.rawManifest() }
            return try Self.render(image, format)
        }
        FileHandle.standardOutput.write(output)
    }

    /// The registry form: the exact top manifest for `--raw`; an index as ``renderIndex``
    /// shows it; else the image, whatever `--platform` says.
    private func inspectRegistry(_ reference: Reference, platform wanted: Platform?) async throws {
        let source = RegistryImageSource(pool: try registry.pool())
        let output: Data
        do {
            let top = try await source.fetchTopManifest(reference).0
            if raw {
                output = top.bytes
            } else if top.isIndex {
                let index: Index
                do { index = try top.index() } catch {
                    throw DistributionError.malformed(reference: reference.description, what: "index", reason: "\(error)")
                }
                let chosen = try Self.pick(in: index, platform: wanted, named: platform != nil, of: reference.description)
                var image: RemoteImageDocuments?
                if let chosen {
                    image = RemoteImageDocuments(
                        try await source.resolve(reference.withDigest(chosen.digest), platform: wanted ?? .host))
                }
                output = try Self.renderIndex(digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, index: index,
                                              image: image, platform: wanted, format)
            } else {
                let resolved = try await source.resolve(reference.withDigest(top.digest), platform: wanted ?? .host)
                output = try Self.render(RemoteImageDocuments(resolved), format)
            }
        } catch {
            throw CommandFailure("inspect \(reference): \(error)")
        }
        FileHandle.standardOutput.write(output)
    }

    private static func render(_ image: any Image, _ format: Format) throws -> Data {
        switch format {
        case .json: return try serialize(document(image))
        case .text: return Data(try ImageSummary(image).text.utf8)
        }
    }

    /// `{"Digest": …, "Manifest": {…}, "Config": {…}}`: the image's documents as stored.
    static func document(_ image: any Image) throws -> [String: Any] {
        [
            "Digest": try image.digest().description,
            "Manifest": try JSONSerialization.jsonObject(with: image.rawManifest()),
            "Config": try JSONSerialization.jsonObject(with: image.rawConfig()),
        ]
    }

    /// `document` indented, keys sorted, with a final line break (`--format json`).
    static func serialize(_ document: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            + Data("\n".utf8)
    }
}

/// What `kiln inspect` looks at: an image on disk, or one in a registry.
enum InspectTarget: Sendable {
    case local(ImageLocation)
    case registry(Reference)

    init(parsing text: String) throws {
        if ImageLocation.Transport.allCases.contains(where: { text.hasPrefix($0.rawValue + ":") }) {
            self = .local(try ImageLocation(parsing: text))
        } else {
            do { self = .registry(try parseRegistryReference(text)) } catch {
                throw ArgumentParser.ValidationError(
                    "\"\(text)\": expected oci:PATH[:REF], docker-archive:PATH[:TAG] or a registry reference (\(error))")
            }
        }
    }
}

/// A resolved registry image's manifest and config as an ``Image`` for the summary; its layers
/// were not downloaded, so it has none to open.
private struct RemoteImageDocuments: Image {
    let resolved: ResolvedImage

    init(_ resolved: ResolvedImage) { self.resolved = resolved }

    func rawManifest() throws -> Data { resolved.rawManifest }
    func rawConfig() throws -> Data { resolved.rawConfig }
    func layers() throws -> [any Layer] { throw CommandFailure("inspect does not download a registry image's layers") }
}
