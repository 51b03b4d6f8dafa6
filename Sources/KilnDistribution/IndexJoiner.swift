import Foundation
import KilnOCI
import KilnRegistry

/// Joins images already in registries into one image index, the last step of a native fan-out
/// (one `kiln build --platform P --push` per architecture, each on its own machine): no layer is
/// downloaded. Each image's platform comes from its index entry or else its config blob; an
/// image in another repository of the target's registry gets its config and layers mounted and
/// its manifest put by digest; one on another registry is streamed over (``ImageCopier``), the
/// only case where layer bytes move, and ``JoinedImage/copiedBytes`` says so. Manifests keep
/// their exact bytes, so every platform's digest is the one its build printed. The index goes
/// last, under the target's tag.
public struct IndexJoiner: Sendable {
    /// The clients, shared with pulls and pushes.
    public let pool: RegistryPool

    /// A joiner over `pool`'s registries.
    public init(pool: RegistryPool) {
        self.pool = pool
    }

    /// Makes the index of every image `sources` name (an image manifest, or an index: then each
    /// of its images) and pushes it to `target`, a tag. Throws before anything is pushed when
    /// two images have the same platform or a source is no image.
    public func join(_ sources: [Reference], into target: Reference,
                     progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws -> JoinedIndex {
        guard target.digest == nil else {
            throw DistributionError.unpushable(reference: target.description,
                                               reason: "an index is pushed under a tag; its digest is known only once it is made")
        }
        var images: [SourceImage] = []
        for source in sources { images += try await self.images(of: source) }
        try Self.checkOnePerPlatform(images)

        let targetClient = await pool.client(for: target.registry)
        let copier = ImageCopier(pool: pool)
        var joined: [JoinedImage] = []
        for image in images {
            let moved = MovedBytes()
            if image.endpoint.client.registry != target.registry || image.endpoint.repository != target.repository {
                let fetched = try await image.manifest()
                try await copier.copyManifest(fetched, from: image.endpoint, to: targetClient, repository: target.repository,
                                              reference: image.reference) { report in
                    if !report.skipped { moved.add(report.totalBytes) }
                    progress(report)
                }
            }
            joined.append(JoinedImage(source: image.reference, descriptor: image.descriptor,
                                      sameRegistry: image.endpoint.client.registry == target.registry,
                                      copiedBytes: moved.total))
        }

        let family: MediaTypeFamily = joined.allSatisfy { $0.descriptor.mediaType == .dockerManifest } ? .docker : .oci
        let index = Index(mediaType: family.index, manifests: joined.map(\.descriptor))
        let bytes = try CanonicalJSON.encode(index)
        let digest = try await ImagePusher(pool: pool).pushIndexManifest(bytes, mediaType: family.index, to: [target])
        return JoinedIndex(digest: digest, mediaType: family.index, size: Int64(bytes.count), images: joined)
    }

    /// The images `source` names, each with its platform; reads manifests and, for an image
    /// whose index entry has no platform, its config — never a layer.
    private func images(of source: Reference) async throws -> [SourceImage] {
        // The registry itself, not a mirror: blobs are mounted from where the manifest is.
        let endpoint = RegistryEndpoint(client: await pool.client(for: source.registry), repository: source.repository,
                                        isMirror: false)
        let top = try await endpoint.client.fetchManifest(ManifestReference(source), in: endpoint.repository)
        guard top.isIndex else {
            let platform = try await platform(of: top, reference: source, at: endpoint)
            var descriptor = top.descriptor
            descriptor.platform = platform
            return [SourceImage(reference: source.withDigest(top.digest), endpoint: endpoint, descriptor: descriptor,
                                fetched: top)]
        }
        let index: Index
        do { index = try top.index() } catch {
            throw DistributionError.malformed(reference: source.description, what: "index", reason: "\(error)")
        }
        var images: [SourceImage] = []
        for entry in index.manifests {
            let reference = source.withDigest(entry.digest)
            guard entry.mediaType.isManifest else {
                throw DistributionError.notAnImage(reference: reference.description, mediaType: entry.mediaType.rawValue)
            }
            var descriptor = entry
            var fetched: FetchedManifest?
            if entry.platform == nil {
                let manifest = try await endpoint.client.fetchManifest(.digest(entry.digest), in: endpoint.repository)
                descriptor.platform = try await platform(of: manifest, reference: reference, at: endpoint)
                fetched = manifest
            }
            images.append(SourceImage(reference: reference, endpoint: endpoint, descriptor: descriptor, fetched: fetched))
        }
        return images
    }

    /// The platform an image manifest's config declares (one small blob GET).
    private func platform(of fetched: FetchedManifest, reference: Reference, at endpoint: RegistryEndpoint) async throws -> Platform {
        let manifest: Manifest
        do { manifest = try Manifest(validating: fetched.bytes) } catch {
            throw DistributionError.malformed(reference: reference.description, what: "manifest", reason: "\(error)")
        }
        guard fetched.mediaType.isManifest, manifest.config.mediaType.isImageConfig else {
            let what = fetched.mediaType.isManifest ? manifest.config.mediaType : fetched.mediaType
            throw DistributionError.notAnImage(reference: reference.description, mediaType: what.rawValue)
        }
        let raw = try await endpoint.client.fetchBlobData(manifest.config.digest, size: manifest.config.size,
                                                          from: endpoint.repository)
        do { return try ImageConfig(validating: raw).platform } catch {
            throw DistributionError.malformed(reference: reference.description, what: "config", reason: "\(error)")
        }
    }

    /// Throws for the first two images whose platforms a pull could not tell apart. Entries of
    /// platform `unknown/unknown` (BuildKit's attestation manifests) ride along unchecked.
    private static func checkOnePerPlatform(_ images: [SourceImage]) throws {
        var seen: [(Platform, Reference)] = []
        for image in images {
            guard let platform = image.descriptor.platform, platform.os != "unknown" else { continue }
            if let earlier = seen.first(where: { $0.0.matches(platform) && $0.0.osVersion == platform.osVersion }) {
                throw DistributionError.duplicatePlatform(platform: platform.description, first: earlier.1.description,
                                                          second: image.reference.description)
            }
            seen.append((platform, image.reference))
        }
    }
}

/// The index ``IndexJoiner`` pushed.
public struct JoinedIndex: Sendable, Hashable {
    /// The index's digest.
    public var digest: Digest
    /// An OCI image index, or a Docker manifest list when every image is a Docker schema 2 manifest.
    public var mediaType: MediaType
    /// The index's size in bytes.
    public var size: Int64
    /// Its images, in the order of the sources.
    public var images: [JoinedImage]
}

/// One image of a ``JoinedIndex``.
public struct JoinedImage: Sendable, Hashable {
    /// Where it was read: the source reference pinned to the image's digest.
    public var source: Reference
    /// Its index entry: media type, digest and size of the manifest, and its platform.
    public var descriptor: Descriptor
    /// Whether it came from the target's registry (blobs mounted or present, never downloaded).
    public var sameRegistry: Bool
    /// Blob bytes that had to be copied: 0 when every blob was in the target repository already
    /// or mounted (within one registry, unless it refused a mount).
    public var copiedBytes: Int64
}

/// An image a source names, before it joins the index.
private struct SourceImage: Sendable {
    var reference: Reference
    var endpoint: RegistryEndpoint
    var descriptor: Descriptor
    /// Its manifest when it was read already.
    var fetched: FetchedManifest?

    /// The manifest, read once.
    func manifest() async throws -> FetchedManifest {
        if let fetched { return fetched }
        return try await endpoint.client.fetchManifest(.digest(descriptor.digest), in: endpoint.repository)
    }
}

/// A running byte count that concurrent progress reports add to.
private final class MovedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Int64 = 0

    func add(_ count: Int64) { lock.withLock { bytes += count } }
    var total: Int64 { lock.withLock { bytes } }
}
