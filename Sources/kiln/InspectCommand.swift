import ArgumentParser
import Foundation
import KilnImage
import KilnOCI

/// `kiln inspect`: shows an image stored on disk.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an image from an OCI layout or a docker-archive: digest, platform, config, layers."
    )

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "oci:PATH[:REF] (a layout directory or tar) or docker-archive:FILE[:TAG].",
              transform: ImageLocation.init(parsing:))
    var image: ImageLocation

    @Option(help: "text (default) or json (the manifest and config documents).")
    var format: Format = .text

    @Flag(help: "Print the manifest's exact bytes and nothing else.")
    var raw = false

    func run() async throws {
        let location = image
        let (raw, format) = (self.raw, self.format)
        let output = try await BlockingWork.run { () throws -> Data in
            let image = try location.open()
            if raw { return try image.rawManifest() }
            switch format {
            case .json: return Data((try Self.json(image) + "\n").utf8)
            case .text: return Data(try ImageSummary(image).text.utf8)
            }
        }
        FileHandle.standardOutput.write(output)
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
