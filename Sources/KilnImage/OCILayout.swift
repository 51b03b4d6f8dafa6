import Foundation
import KilnOCI

/// An OCI image layout read from disk: a directory, or an uncompressed tar of one
/// (what `skopeo copy … oci-archive:` and `docker save` since 25 write).
public struct OCILayout: Sendable {
    /// The directory or archive.
    public let location: URL
    private let archive: TarArchiveIndex?

    /// Opens the layout at `location`, telling a directory from a tar file.
    public init(at location: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw ImageError.system(operation: "open", path: location.path, errno: ENOENT)
        }
        self.location = location
        self.archive = isDirectory.boolValue ? nil : try TarArchiveIndex(file: location)
        let header = try region(ImageLayout.fileName).readAll(limit: 1 << 20)
        do { _ = try ImageLayout(validating: header) } catch {
            throw ImageError.malformed(path: location.path, reason: "oci-layout: \(error)")
        }
    }

    /// The top-level `index.json`.
    public func index() throws -> Index {
        let data = try region(ImageLayout.indexFileName).readAll()
        do { return try Index(validating: data) } catch {
            throw ImageError.malformed(path: location.path, reason: "index.json: \(error)")
        }
    }

    /// Where the blob `digest` is stored.
    public func blob(_ digest: Digest) throws -> FileRegion {
        try region("\(ImageLayout.blobsDirectoryName)/\(digest.algorithm)/\(digest.encoded)")
    }

    /// The image tagged `reference` (an `org.opencontainers.image.ref.name`), or the only image
    /// when `reference` is nil. An index entry that is itself an index resolves to `platform`
    /// (the host's by default), as ``PlatformMatcher`` ranks its entries.
    public func image(reference: String? = nil, platform: Platform = .host) throws -> LayoutImage {
        try image(descriptor: entry(reference: reference), platform: platform)
    }

    /// The `index.json` entry tagged `reference`, or the only entry when `reference` is nil: an
    /// image manifest or an index.
    public func entry(reference: String? = nil) throws -> Descriptor {
        let manifests = try index().manifests
        if let reference {
            guard let match = manifests.last(where: { $0.annotations[AnnotationKey.refName] == reference }) else {
                throw ImageError.notFound(path: location.path, reference: reference)
            }
            return match
        }
        guard manifests.count == 1, let only = manifests.first else {
            if manifests.isEmpty { throw ImageError.notFound(path: location.path, reference: "any image") }
            throw ImageError.ambiguous(
                path: location.path,
                candidates: manifests.map { $0.annotations[AnnotationKey.refName] ?? $0.digest.description })
        }
        return only
    }

    /// The index `descriptor` names: its exact bytes, checked against the digest, and parsed.
    public func nestedIndex(_ descriptor: Descriptor) throws -> (bytes: Data, index: Index) {
        let data = try verified(descriptor)
        do { return (data, try Index(validating: data)) } catch {
            throw ImageError.malformed(path: location.path, reason: "index \(descriptor.digest): \(error)")
        }
    }

    /// The image whose manifest (or index, resolved to `platform`) `descriptor` names.
    public func image(descriptor: Descriptor, platform: Platform = .host) throws -> LayoutImage {
        guard descriptor.mediaType.isIndex else { return try LayoutImage(layout: self, descriptor: descriptor) }
        let nested = try nestedIndex(descriptor).index
        guard let match = PlatformMatcher(platform).best(in: nested.manifests)
            ?? (nested.manifests.count == 1 ? nested.manifests.first : nil) else {
            throw ImageError.noMatchingPlatform(path: location.path, platform: platform.description,
                                                available: nested.manifests.compactMap { $0.platform?.description }.joined(separator: ", "))
        }
        return try image(descriptor: match, platform: platform)
    }

    /// The bytes of the small blob `descriptor`, checked against its digest.
    func verified(_ descriptor: Descriptor) throws -> Data {
        let data = try blob(descriptor.digest).readAll()
        let actual = Digest.sha256(of: data)
        guard actual == descriptor.digest else { throw ImageError.digestMismatch(expected: descriptor.digest, actual: actual) }
        return data
    }

    private func region(_ path: String) throws -> FileRegion {
        if let archive { return try archive.region(path) }
        let file = location.appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw ImageError.malformed(path: location.path, reason: "layout has no \(path)")
        }
        return try FileRegion(wholeFile: file)
    }
}

/// One image of an ``OCILayout``: manifest and config read on demand, layers opened lazily.
public struct LayoutImage: Image {
    /// The layout holding the image.
    public let layout: OCILayout
    /// The index entry (or nested index entry) that named the manifest.
    public let descriptor: Descriptor

    init(layout: OCILayout, descriptor: Descriptor) throws {
        guard descriptor.mediaType.isManifest else {
            throw ImageError.malformed(path: layout.location.path,
                                       reason: "\(descriptor.digest) is \(descriptor.mediaType), not an image manifest")
        }
        self.layout = layout
        self.descriptor = descriptor
    }

    /// The manifest bytes, checked against the index's digest.
    public func rawManifest() throws -> Data { try layout.verified(descriptor) }

    /// The config bytes, checked against the manifest's digest.
    public func rawConfig() throws -> Data { try layout.verified(try manifest().config) }

    /// The manifest's layers, each paired with the config's diffID at the same position.
    public func layers() throws -> [any Layer] {
        let manifest = try manifest()
        let diffIDs = try config().rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw ImageError.malformed(
                path: layout.location.path,
                reason: "manifest lists \(manifest.layers.count) layers, config \(diffIDs.count) diff_ids")
        }
        return try zip(manifest.layers, diffIDs).map { descriptor, diffID in
            FileLayer(descriptor: descriptor, diffID: diffID, region: try layout.blob(descriptor.digest))
        }
    }
}
