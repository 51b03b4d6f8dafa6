import ArgumentParser
import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnStorage

/// `kiln push`: an image from an OCI layout or a docker-archive to a registry.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an image from an OCI layout or a docker-archive to a registry; prints its digest."
    )

    @Argument(help: "oci:PATH[:REF] or docker-archive:FILE[:TAG].", transform: ImageLocation.init(parsing:))
    var source: ImageLocation

    @Argument(help: "Where to: REGISTRY/REPOSITORY[:TAG] (repeat for more tags).", transform: parseRegistryReference)
    var destinations: [Reference]

    @Option(name: .customLong("mount-from"),
            help: "A repository on the same registry that may already hold the layers (repeatable).",
            transform: parseRegistryReference)
    var mountFrom: [Reference] = []

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        guard !destinations.isEmpty else { throw ArgumentParser.ValidationError("push needs a destination reference") }
        let location = source
        let image = try await onOwnThread { try location.open() }
        let pusher = ImagePusher(pool: try registry.pool())
        do {
            TerminalText.print(try await pusher.push(image, to: destinations, mountFrom: mountFrom))
        } catch {
            throw CommandFailure("push to \(destinations[0]): \(error)")
        }
    }
}
