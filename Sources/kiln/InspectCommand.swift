import ArgumentParser
import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
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

    @Option(help: "For a registry index: the platform to show, os/arch[/variant] (default: this machine's).")
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

    /// The registry form: the exact top manifest for `--raw`, else the platform's image as for a local one.
    private func inspectRegistry(_ reference: Reference) async throws {
        let source = RegistryImageSource(pool: try registry.pool())
        let platform: Platform
        do { platform = try self.platform.map { try Platform(parsing: $0) } ?? .host } catch {
            throw ArgumentParser.ValidationError("--platform: \(error)")
        }
        let output: Data
        do {
            if raw {
                output = try await source.fetchTopManifest(reference).0.bytes
            } else {
                output = try Self.render(RemoteImageDocuments(try await source.resolve(reference, platform: platform)), format)
            }
        } catch {
            throw CommandFailure("inspect \(reference): \(error)")
        }
        FileHandle.standardOutput.write(output)
    }

    private static func render(_ image: any Image, _ format: Format) throws -> Data {
        switch format {
        case .json: return Data((try json(image) + "\n").utf8)
        case .text: return Data(try ImageSummary(image).text.utf8)
        }
    }

    /// `{"Digest": …, "Manifest": {…}, "Config": {…}}`, the documents as stored, indented.
    private static func json(_ image: any Image) throws -> String {
        let document: [String: Any] = [
            "Digest": try image.digest().description,
            "Manifest": try JSONSerialization.jsonObject(with: image.rawManifest()),
            "Config": try JSONSerialization.jsonObject(with: image.rawConfig()),
        ]
        let data = try JSONSerialization.data(withJSONObject: document,
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
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
