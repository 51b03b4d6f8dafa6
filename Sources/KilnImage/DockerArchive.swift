import Foundation
import KilnArchive
import KilnOCI

/// A docker-archive read from disk (`docker save`, `podman save`, skopeo, Kiln).
public struct DockerArchive: Sendable {
    /// The tarball.
    public let file: URL
    /// The images listed in `manifest.json`.
    public let entries: [DockerArchiveManifestEntry]
    private let archive: TarArchiveIndex

    /// Indexes the tarball at `file` and reads its `manifest.json`.
    public init(file: URL) throws {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw ImageError.system(operation: "open", path: file.path, errno: ENOENT)
        }
        self.file = file
        archive = try TarArchiveIndex(file: file)
        do {
            entries = try CanonicalJSON.decode([DockerArchiveManifestEntry].self,
                                               from: archive.region("manifest.json").readAll())
        } catch let error as ImageError {
            throw error
        } catch {
            throw ImageError.malformed(path: file.path, reason: "manifest.json: \(error)")
        }
    }

    /// The image tagged `tag` (any reference form), or the only image when `tag` is nil.
    public func image(tag: String? = nil) throws -> DockerArchiveImage {
        if let tag {
            let wanted = try Reference(parsing: tag)
            guard let entry = entries.first(where: { entry in
                entry.repoTags.contains { (try? Reference(parsing: $0)) == wanted }
            }) else { throw ImageError.notFound(path: file.path, reference: tag) }
            return try DockerArchiveImage(archive: archive, entry: entry)
        }
        guard entries.count == 1 else {
            if entries.isEmpty { throw ImageError.notFound(path: file.path, reference: "any image") }
            throw ImageError.ambiguous(path: file.path, candidates: entries.flatMap(\.repoTags))
        }
        return try DockerArchiveImage(archive: archive, entry: entries[0])
    }
}

/// One image of a ``DockerArchive``, presented with a Docker schema 2 manifest made up on
/// reading (the archive stores none), as skopeo does (an OCI one when a layer is zstd): plain-tar layers are described by their
/// diffID; compressed ones are hashed once when the image is opened.
public struct DockerArchiveImage: Image {
    /// The `manifest.json` entry.
    public let entry: DockerArchiveManifestEntry
    private let configRegion: FileRegion
    private let layerList: [FileLayer]
    private let manifestBlob: EncodedBlob

    init(archive: TarArchiveIndex, entry: DockerArchiveManifestEntry) throws {
        self.entry = entry
        configRegion = try archive.region(entry.config)
        let configBytes = try configRegion.readAll()
        let config: ImageConfig
        do { config = try ImageConfig(validating: configBytes) } catch {
            throw ImageError.malformed(path: archive.file.path, reason: "\(entry.config): \(error)")
        }
        guard config.rootfs.diffIDs.count == entry.layers.count else {
            throw ImageError.malformed(path: archive.file.path,
                                       reason: "manifest.json lists \(entry.layers.count) layers, config \(config.rootfs.diffIDs.count)")
        }
        let detected = try zip(entry.layers, config.rootfs.diffIDs).map { path, diffID in
            let region = try archive.region(path)
            var head = [UInt8](repeating: 0, count: 4)
            let count = try head.withUnsafeMutableBytes { try region.open().read(into: $0) }
            let compression = head.withUnsafeBytes { LayerCompression.detect(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            let digest = compression == .none ? diffID : try region.open().measure().digest
            return FileLayer(descriptor: Descriptor(mediaType: compression.mediaType, digest: digest, size: region.length),
                             diffID: diffID, region: region)
        }
        // Docker's schema 2, as skopeo makes it, unless a layer has no Docker type (zstd): then
        // OCI's. One family throughout either way.
        let family: MediaTypeFamily = detected.allSatisfy { (try? MediaTypeFamily.docker.layer($0.descriptor.mediaType)) != nil }
            ? .docker : .oci
        layerList = try detected.map { layer in
            var layer = layer
            layer.descriptor.mediaType = try family.layer(layer.descriptor.mediaType)
            return layer
        }
        let manifest = Manifest(mediaType: family.manifest,
                                config: Descriptor(mediaType: family.config, digest: .sha256(of: configBytes),
                                                   size: Int64(configBytes.count)),
                                layers: layerList.map(\.descriptor))
        manifestBlob = try CanonicalJSON.blob(manifest)
    }

    /// The made-up Docker schema 2 manifest.
    public func rawManifest() throws -> Data { manifestBlob.bytes }
    /// The config file's bytes.
    public func rawConfig() throws -> Data { try configRegion.readAll() }
    /// The layer tars, base first.
    public func layers() throws -> [any Layer] { layerList }
}
