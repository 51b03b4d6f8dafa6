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

    /// Where `--output` puts the image.
    struct Output: Sendable {
        enum Kind: String, Sendable { case oci, rootfs }
        var kind: Kind
        var destination: URL

        init(parsing text: String) throws {
            var fields: KeyValueFields
            do { fields = try KeyValueFields(parsing: text) } catch { throw ArgumentParser.ValidationError("--output: \(error)") }
            let kind = fields.take("type").flatMap(Kind.init(rawValue:))
            let destination = fields.take("dest")
            if let unknown = fields.remainingKeys.first {
                throw ArgumentParser.ValidationError("--output: unknown field \"\(unknown)\" (expected type=oci|rootfs,dest=DIR)")
            }
            guard let kind else { throw ArgumentParser.ValidationError("--output needs type=oci or type=rootfs") }
            guard let destination, !destination.isEmpty else { throw ArgumentParser.ValidationError("--output needs dest=DIR") }
            self.kind = kind
            self.destination = URL(fileURLWithPath: destination).standardizedFileURL
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
