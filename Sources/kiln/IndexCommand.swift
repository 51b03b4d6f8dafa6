import ArgumentParser
import Foundation
import KilnDistribution
import KilnOCI

/// `kiln index`: multi-platform indexes made of images already in a registry.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Make a multi-platform image index from images already in a registry.",
        subcommands: [Create.self]
    )

    /// `kiln index create TARGET SOURCE…`: the join step of a native fan-out.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Join images (e.g. one `kiln build --platform P --push` per native builder) into one index pushed to TARGET.",
            discussion: """
                Each SOURCE is an image (its platform is read from its config) or an index (each of its images \
                joins). No layer is downloaded: images in other repositories of TARGET's registry get their \
                blobs mounted and their manifests put by digest; an image on another registry is copied over \
                (its blobs streamed), and the command says so. The manifests keep their bytes, so each \
                platform keeps the digest its build printed. Two images of one platform are an error. The \
                index is an OCI image index, or a Docker manifest list when every image is a Docker schema 2 \
                manifest; it is pushed last, under TARGET's tag. Prints the index digest on standard output \
                and its platforms on standard error.
                """
        )

        @Argument(help: "Where the index goes: REGISTRY/REPOSITORY[:TAG].", transform: parseRegistryReference)
        var target: Reference

        @Argument(help: "The images to join: REGISTRY/REPOSITORY[:TAG|@DIGEST] (an image or an index; at least one).",
                  transform: parseRegistryReference)
        var sources: [Reference]

        @OptionGroup var registry: RegistryFlags

        func validate() throws {
            guard !sources.isEmpty else { throw ValidationError("index create needs at least one SOURCE image") }
            guard target.digest == nil else {
                throw ValidationError("TARGET \"\(target)\" names a digest: an index is pushed under a tag")
            }
        }

        func run() async throws {
            let joiner = IndexJoiner(pool: try registry.pool())
            let joined: JoinedIndex
            do { joined = try await joiner.join(sources, into: target) } catch {
                throw CommandFailure("index create \(target): \(error)")
            }
            TerminalText.print(joined.digest)
            var report = "\(target): \(joined.mediaType) of \(joined.images.count) image(s)\n"
            report += PlatformTable.text(joined.images.map(\.descriptor))
            for image in joined.images where image.copiedBytes > 0 || !image.sameRegistry {
                let why = image.sameRegistry ? "the registry refused to mount them" : "it is on another registry than \(target.registry)"
                report += "note: \(image.source): its blobs were copied (\(image.copiedBytes) bytes), not mounted: \(why)\n"
            }
            StandardError.write(TerminalText.escaped(report))
        }
    }
}
