import KilnDistribution
import KilnDockerfile
import KilnImage
import KilnOCI

/// Where a build writes what it made, and how it pushes.
public struct BuildOutputs: Sendable {
    /// Every output, in the order given (`--output`, `--push`, the default layout).
    public var targets: [OutputTarget]
    /// How registry outputs are pushed; nil where pushing is not available.
    public var publisher: (any ImagePublisher)?
    /// Repositories a pushed blob may be mounted from besides the base images' own (the
    /// registry caches).
    public var mountFrom: [Reference]
    /// At most this many layers are uploaded at once while the build runs.
    public var concurrentUploads: Int

    /// Outputs `targets`, pushed with `publisher`.
    public init(targets: [OutputTarget], publisher: (any ImagePublisher)? = nil, mountFrom: [Reference] = [],
                concurrentUploads: Int = 4) {
        self.targets = targets
        self.publisher = publisher
        self.mountFrom = mountFrom
        self.concurrentUploads = concurrentUploads
    }

    /// The references registry outputs push to.
    var pushedAs: [Reference] {
        targets.flatMap { target -> [Reference] in
            if case .registry(let references) = target { return references }
            return []
        }
    }
}

/// A build written to its outputs.
public struct ExportedBuild: Sendable {
    /// The image, or the index of a multi-platform build.
    public var product: BuildProduct
    /// Its digest (manifest or index): what `--iidfile` writes.
    public var digest: Digest
    /// The `--metadata-file` document, upload times included.
    public var metadata: BuildMetadata
    /// Each output, one line each (`oci:DIR:NAME`, a reference, …).
    public var written: [String]
    /// For several platforms: each platform and its image's manifest digest, in order.
    public var platforms: [(platform: BuildPlatform, digest: Digest)]
}

extension Builder {
    /// Builds `request` for `platforms` (one: a single image; more: an index) and writes the
    /// product to every output. The build owns the whole way out: registry outputs get each
    /// layer while later steps run (``LayerUploadPipeline``), then the exporter writes each
    /// output, mounting blobs from the registry caches and the base images' repositories; the
    /// manifests go last, so a failed build leaves no tag.
    public func build(_ request: BuildRequest, platforms: [BuildPlatform], writingTo outputs: BuildOutputs,
                      events: @escaping BuildEventSink = { _ in }) async throws -> ExportedBuild {
        let pushedAs = outputs.pushedAs
        let push = pushedAs.isEmpty ? nil : outputs.publisher.map {
            LayerPushTarget(publisher: $0, references: pushedAs, mountFrom: outputs.mountFrom, concurrentUploads: outputs.concurrentUploads)
        }
        let product: BuildProduct
        let digest: Digest
        var metadata: BuildMetadata
        let layerUploads: LayerUploadPipeline?
        let bases: [Reference]
        var perPlatform: [(platform: BuildPlatform, digest: Digest)] = []
        if platforms.count > 1 {
            for target in outputs.targets { try target.checkHoldsIndex() }
            let result = try await build(request, platforms: platforms, pushingLayersTo: push, events: events)
            (product, digest, metadata) = (.index(result.index), result.index.digest, BuildMetadata(result))
            layerUploads = result.layerUploads
            bases = result.builds.flatMap(\.result.baseReferences)
            perPlatform = result.builds.map { ($0.platform, $0.result.manifestDigest) }
        } else {
            var single = request
            if let platform = platforms.first { single.platform = platform }
            let result = try await build(single, pushingLayersTo: push, events: events)
            (product, digest, metadata) = (.image(result.image), result.manifestDigest, BuildMetadata(result))
            layerUploads = result.layerUploads
            bases = result.baseReferences
        }
        let mountFrom = outputs.mountFrom + Set(bases).sorted { $0.description < $1.description }
        let exporter = ImageExporter(publisher: outputs.publisher, mountFrom: mountFrom, layerUploads: layerUploads)
        var written: [String] = []
        do {
            for target in outputs.targets {
                written.append(try await exporter.export(product, to: target, events: events))
            }
        } catch {
            layerUploads?.cancel()
            throw error
        }
        // The exporter waited for the uploads (a layout-only build has none): every time is in.
        if let layerUploads { metadata.recordUploads(layerUploads.uploadSeconds) }
        return ExportedBuild(product: product, digest: digest, metadata: metadata, written: written, platforms: perPlatform)
    }
}
