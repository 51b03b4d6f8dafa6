import ArgumentParser
import Foundation
import KilnBuilder
import KilnDistribution
import KilnOCI
import KilnStorage

/// `kiln pull`: one platform of a registry image into an OCI layout or a root filesystem.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an image from a registry into an OCI layout or an unpacked root filesystem."
    )

    /// Where `--output` puts the image, in BuildKit's `--output` grammar (``OutputFields``).
    struct Output: Sendable {
        enum Kind: String, Sendable { case oci, rootfs }
        /// The types `kiln pull --output` writes and the keys each takes.
        static let accepted: [(type: String, keys: Set<String>)] = [("oci", ["dest"]), ("rootfs", ["dest"])]
        var kind: Kind
        var destination: URL

        init(parsing text: String) throws {
            do {
                let fields = try OutputFields(parsing: text, accepted: Self.accepted)
                kind = Kind(rawValue: fields.type)!  // `accepted` names exactly the kinds
                destination = URL(fileURLWithPath: try fields.required("dest", placeholder: "DIR")).standardizedFileURL
            } catch {
                throw ArgumentParser.ValidationError(error.description)
            }
        }
    }

    @Argument(help: "The image: [REGISTRY/]REPOSITORY[:TAG|@DIGEST].", transform: parseRegistryReference)
    var reference: Reference

    @Option(help: "type=oci,dest=DIR (an OCI image layout) or type=rootfs,dest=DIR (layers applied).",
            transform: Output.init(parsing:))
    var output: Output

    @Option(help: "The platform to pull from a multi-platform image, os/arch[/variant] (default: this machine's).")
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        let platform: Platform
        do { platform = try self.platform.map { try Platform(parsing: $0) } ?? .host } catch {
            throw ArgumentParser.ValidationError("--platform: \(error)")
        }
        let puller = ImagePuller(source: RegistryImageSource(pool: try registry.pool()))
        let image: ResolvedImage
        do {
            switch output.kind {
            case .oci:
                image = try await puller.pullLayout(reference, platform: platform, to: output.destination,
                                                    refName: reference.tag ?? reference.digest?.description)
            case .rootfs:
                let root = KilnRoot.fromEnvironment()
                try root.makePrivate()
                image = try await puller.pullRootfs(reference, platform: platform, to: output.destination,
                                                    store: ContentStore(root: root))
            }
        } catch let error as ArgumentParser.ValidationError { throw error } catch {
            throw CommandFailure("pull \(reference): \(error)")
        }
        TerminalText.print(image.manifestDigest)
    }
}
