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

    @Flag(help: "Print the manifest's exact bytes and nothing else (for a registry: the index, when the tag names one).")
    var raw = false

    @Option(help: "For a registry index: the platform to show, os/arch[/variant] (default: this machine's), or all (only the list of platforms).")
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        let location: ImageLocation
        switch image {
        case .local(let local): location = local
        case .registry(let reference): return try await inspectRegistry(reference)
        }
        let (raw, format) = (self.raw, self.format)
        let output = try await onOwnThread { () throws -> Data in
            let image = try location.open()
            if raw { return try image.rawManifest() }
            return try Self.render(image, format)
        }
        FileHandle.standardOutput.write(output)
    }

    /// The registry form: the exact top manifest for `--raw`; for an index, its platforms and the
    /// image of the platform asked for (this machine's by default: when the index lacks it, only
    /// the platforms); else the image, whatever `--platform` says.
    private func inspectRegistry(_ reference: Reference) async throws {
        let source = RegistryImageSource(pool: try registry.pool())
        let wanted: Platform?
        do { wanted = try platform == "all" ? nil : platform.map { try Platform(parsing: $0) } ?? .host } catch {
            throw ArgumentParser.ValidationError("--platform: \(error)")
        }
        let output: Data
        do {
            let top = try await source.fetchTopManifest(reference).0
            let pinned = reference.withDigest(top.digest)
            if raw {
                output = top.bytes
            } else if top.isIndex {
                output = try await inspectIndex(top, of: reference, platform: wanted, source: source)
            } else {
                output = try Self.render(RemoteImageDocuments(try await source.resolve(pinned, platform: wanted ?? .host)), format)
            }
        } catch {
            throw CommandFailure("inspect \(reference): \(error)")
        }
        FileHandle.standardOutput.write(output)
    }

    /// An index: its digest and platforms, then the summary of `platform`'s image. A platform
    /// named with `--platform` that the index lacks is an error naming the ones it has.
    private func inspectIndex(_ top: FetchedManifest, of reference: Reference, platform: Platform?,
                              source: RegistryImageSource) async throws -> Data {
        let index: Index
        do { index = try top.index() } catch {
            throw DistributionError.malformed(reference: reference.description, what: "index", reason: "\(error)")
        }
        let chosen = platform.flatMap { index.bestManifest(for: $0) }
        if let platform, chosen == nil, self.platform != nil {
            throw DistributionError.noMatchingPlatform(
                reference: reference.description, platform: platform.description,
                available: index.manifests.compactMap { $0.platform?.description }.joined(separator: ", "))
        }
        var image: RemoteImageDocuments?
        if let chosen {
            image = RemoteImageDocuments(try await source.resolve(reference.withDigest(chosen.digest), platform: platform ?? .host))
        }
        switch format {
        case .json:
            var document: [String: Any] = try image.map { try Self.document($0) } ?? [:]
            document["Index"] = ["Digest": top.digest.description, "Manifest": try JSONSerialization.jsonObject(with: top.bytes)]
            return try Self.serialize(document)
        case .text:
            var text = "Index:        \(top.digest) (\(top.mediaType))\nPlatforms:\n" + PlatformTable.text(index.manifests)
            if let image, let platform {
                text += "\nImage for \(platform):\n" + (try ImageSummary(image).text)
            } else if let platform {
                text += "\nNo image for this machine's platform (\(platform)); pick one with --platform.\n"
            }
            return Data(TerminalText.escaped(text).utf8)
        }
    }

    private static func render(_ image: any Image, _ format: Format) throws -> Data {
        switch format {
        case .json: return try serialize(document(image))
        case .text: return Data(try ImageSummary(image).text.utf8)
        }
    }

    /// `{"Digest": …, "Manifest": {…}, "Config": {…}}`: the image's documents as stored.
    private static func document(_ image: any Image) throws -> [String: Any] {
        [
            "Digest": try image.digest().description,
            "Manifest": try JSONSerialization.jsonObject(with: image.rawManifest()),
            "Config": try JSONSerialization.jsonObject(with: image.rawConfig()),
        ]
    }

    /// `document` indented, keys sorted, with a final line break (`--format json`).
    private static func serialize(_ document: [String: Any]) throws -> Data {
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
