import Foundation
import KilnArchive
import KilnDistribution
import KilnImage
import KilnOCI
import KilnStorage

/// Where `--output` sends the image.
public enum OutputTarget: Sendable, Hashable {
    /// An OCI image layout directory, the image listed under `name` (`type=oci,dest=DIR,name=…`).
    case ociLayout(directory: URL, name: String?)
    /// A docker-archive tarball for `docker load` (`type=docker,dest=FILE`), tagged with `tags`.
    case dockerArchive(file: URL, tags: [String])
    /// Registry repositories (`type=registry`, or `-t … --push`).
    case registry([Reference])

    /// Parses a `--output` value (`type=oci,dest=DIR[,name=…]`, `type=docker,dest=FILE[,name=…]`,
    /// `type=registry[,name=REF]`); `tags` are the `-t` references, names for a registry output
    /// and the archive's tags. The keys that shape the image itself (`oci-mediatypes`,
    /// `compression`) are ``OutputImageOptions``'.
    public init(parsing text: String, tags: [String]) throws(BuildError) {
        let fields: KeyValueFields
        do { fields = try KeyValueFields(parsing: text) } catch { throw BuildError.invalidOption("--output \(text): \(error)") }
        let names = fields.values["name"].map { [$0] } ?? tags
        switch fields.values["type"] {
        case "oci"?, "local-oci"?:
            guard let dest = fields.values["dest"] else { throw BuildError.invalidOption("--output \(text): type=oci needs dest=DIR") }
            self = .ociLayout(directory: URL(fileURLWithPath: dest), name: names.first)
        case "docker"?, "docker-archive"?:
            guard let dest = fields.values["dest"] else { throw BuildError.invalidOption("--output \(text): type=docker needs dest=FILE") }
            self = .dockerArchive(file: URL(fileURLWithPath: dest), tags: names)
        case "registry"?, "image"?:
            guard !names.isEmpty else { throw BuildError.invalidOption("--output \(text): type=registry needs name=REF or -t REF") }
            var references: [Reference] = []
            for name in names {
                do { references.append(try Reference(parsing: name)) } catch {
                    throw BuildError.invalidOption("--output \(text): \(name): \(error)")
                }
            }
            self = .registry(references)
        default:
            throw BuildError.invalidOption("--output \(text): type must be oci, docker or registry")
        }
    }
}

/// Pushes a built image to a registry; `KilnDistribution`'s `ImagePusher` is one.
public protocol ImagePublisher: Sendable {
    /// Pushes `image` (blobs, then the manifest) as `reference`; returns the manifest digest.
    func publish(_ image: any Image, to reference: Reference, mountFrom: [Reference],
                 progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Digest

    /// Pushes `index`'s images by digest, then the index as each of `references`; returns the
    /// index digest.
    func publishIndex(_ index: AssembledIndex, to references: [Reference], mountFrom: [Reference],
                      progress: @escaping @Sendable (TransferProgress) -> Void) async throws -> Digest

    /// Pushes one layer's blob to every repository of `references`, tagging nothing: how a build
    /// pushes a layer while later steps run (``LayerUploadPipeline``).
    func publishLayer(_ layer: any Layer, to references: [Reference], mountFrom: [Reference],
                      progress: @escaping @Sendable (TransferProgress) -> Void) async throws
}

/// What a build produced: one image, or one image per platform joined by an index.
public enum BuildProduct: Sendable {
    /// A single-platform image.
    case image(any Image)
    /// Images of several platforms and their index.
    case index(AssembledIndex)

    /// The images, one per platform.
    var images: [any Image] {
        switch self {
        case .image(let image): return [image]
        case .index(let index): return index.images
        }
    }

    /// The same product with its images replaced (by fetched copies).
    func replacingImages(_ images: [any Image]) throws -> BuildProduct {
        switch self {
        case .image: return .image(images[0])
        case .index(let index): return .index(try index.replacingImages(images))
        }
    }
}

/// Writes a built image to the outputs `--output` named.
public struct ImageExporter: Sendable {
    /// How registry outputs are pushed; nil rejects them.
    public let publisher: (any ImagePublisher)?
    /// Repositories that may hold the image's blobs already (the registry cache, the base
    /// image's repository): a push mounts from them instead of uploading, or downloading.
    public let mountFrom: [Reference]
    /// The layers the build pushed while it ran (``Builder/build(_:pushingLayersTo:events:)``):
    /// a registry output waits for them, then finds them present and uploads only the rest.
    public let layerUploads: LayerUploadPipeline?

    /// An exporter pushing with `publisher`, mounting blobs from `mountFrom` where it can, after
    /// the uploads `layerUploads` started during the build.
    public init(publisher: (any ImagePublisher)? = nil, mountFrom: [Reference] = [], layerUploads: LayerUploadPipeline? = nil) {
        self.publisher = publisher
        self.mountFrom = mountFrom
        self.layerUploads = layerUploads
    }

    /// Writes `image` to `target`; returns a one-line description of where it went.
    @discardableResult
    public func export(_ image: any Image, to target: OutputTarget, events: @escaping BuildEventSink = { _ in }) async throws -> String {
        try await export(.image(image), to: target, events: events)
    }

    /// Writes `product` to `target`; returns a one-line description of where it went. An index
    /// goes where one can be held: an OCI layout lists the index under its name, a registry
    /// gets each image by digest and then the index under each tag (so no tag ever names an
    /// index whose images are missing); a docker-archive holds one platform and refuses it.
    @discardableResult
    public func export(_ product: BuildProduct, to target: OutputTarget, events: @escaping BuildEventSink = { _ in }) async throws -> String {
        if case .index = product { try target.checkHoldsIndex() }
        var fetched: [any Image] = []
        for image in product.images {
            if case .registry = target {} else if let assembled = image as? AssembledImage {
                // Writers read every blob: fetch those still elsewhere first, several at once.
                fetched.append(try await assembled.fetchingDeferredLayers())
                continue
            }
            fetched.append(image)
        }
        let product = try product.replacingImages(fetched)
        try target.makeParentDirectories()
        switch (target, product) {
        case (.ociLayout(let directory, let name), _):
            // Cancelling (SIGINT, SIGTERM) closes the gate: the copy stops within a chunk.
            let gate = WriteGate()
            _ = try await onOwnThread(closing: gate) {
                switch product {
                case .image(let image): try OCILayoutWriter(gate: gate).write(image, to: directory, refName: name)
                case .index(let index): try OCILayoutWriter(gate: gate).write(index, to: directory, refName: name)
                }
            }
            return "oci:\(directory.path)" + (name.map { ":" + $0 } ?? "")
        case (.dockerArchive(let file, let tags), .image(let image)):
            let gate = WriteGate()
            try await onOwnThread(closing: gate) { try DockerArchiveWriter(gate: gate).write(image, repoTags: tags, to: file) }
            return "docker-archive:\(file.path)"
        case (.dockerArchive, .index):
            preconditionFailure("OutputTarget.checkHoldsIndex, called above, refuses an index for a docker-archive")
        case (.registry(let references), _):
            guard let publisher else {
                throw BuildError.invalidOption("pushing to a registry is not available in this build of kiln; use --output type=oci,dest=DIR")
            }
            // Layers pushed during the build finish first: the push below finds them present
            // (one HEAD each) instead of uploading them a second time, and the manifest goes last.
            await layerUploads?.finish()
            switch product {
            case .image(let image):
                for reference in references {
                    _ = try await publisher.publish(image, to: reference, mountFrom: mountFrom) { events(.transfer(nil, $0)) }
                }
            case .index(let index):
                _ = try await publisher.publishIndex(index, to: references, mountFrom: mountFrom) { events(.transfer(nil, $0)) }
            }
            return references.map(\.description).joined(separator: ", ")
        }
    }
}
