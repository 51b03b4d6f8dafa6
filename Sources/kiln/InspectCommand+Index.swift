import Foundation
import KilnDistribution
import KilnImage
import KilnOCI

/// How `kiln inspect` shows an index, from a registry or an OCI layout alike: its digest and a
/// row per platform, then the image of the platform asked for.
extension InspectCommand {
    /// The entry of `index` for `platform` (nil for `--platform all`). When the index lacks it:
    /// an error naming the platforms it has if `--platform` was given (`named`), else nil (this
    /// machine's platform was only the default).
    static func pick(in index: Index, platform: Platform?, named: Bool, of name: String) throws -> Descriptor? {
        guard let platform else { return nil }
        if let chosen = index.bestManifest(for: platform) { return chosen }
        guard named else { return nil }
        throw DistributionError.noMatchingPlatform(
            reference: name, platform: platform.description,
            available: index.manifests.compactMap { $0.platform?.description }.joined(separator: ", "))
    }

    /// Text: `Index:` digest and media type, the platforms, then `image`'s summary (or why there
    /// is none). JSON: `image`'s document with `"Index": {"Digest": …, "Manifest": {…}}` added.
    static func renderIndex(digest: Digest, mediaType: MediaType, bytes: Data, index: Index, image: (any Image)?,
                            platform: Platform?, _ format: Format) throws -> Data {
        switch format {
        case .json:
            var document = try image.map { try Self.document($0) } ?? [:]
            document["Index"] = ["Digest": digest.description, "Manifest": try JSONSerialization.jsonObject(with: bytes)]
            return try Self.serialize(document)
        case .text:
            var text = "Index:        \(digest) (\(mediaType))\nPlatforms:\n" + PlatformTable.text(index.manifests)
            if let image, let platform {
                text += "\nImage for \(platform):\n" + (try ImageSummary(image).text)
            } else if let platform {
                text += "\nNo image for this machine's platform (\(platform)); pick one with --platform.\n"
            }
            return Data(TerminalText.escaped(text).utf8)
        }
    }
}
