import ArgumentParser
import KilnDistribution
import KilnOCI

/// `kiln copy`: registry to registry, every platform, digests unchanged.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy an image or index between registries (blobs mounted within one registry); prints its digest."
    )

    @Argument(help: "The source: REGISTRY/REPOSITORY[:TAG|@DIGEST].", transform: parseRegistryReference)
    var source: Reference

    @Argument(help: "The destination: REGISTRY/REPOSITORY[:TAG].", transform: parseRegistryReference)
    var destination: Reference

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        let copier = ImageCopier(pool: try registry.pool())
        do {
            TerminalText.print(try await copier.copy(source, to: destination))
        } catch {
            throw CommandFailure("copy \(source) to \(destination): \(error)")
        }
    }
}
