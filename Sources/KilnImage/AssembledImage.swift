import Foundation
import KilnOCI

/// An image put together from layers and a config, its manifest and digests computed with
/// canonical JSON so that the same inputs always give the same image digest.
public struct AssembledImage: Image {
    /// The config as encoded, `rootfs.diff_ids` set from the layers.
    public let configBlob: EncodedBlob
    /// The manifest as encoded.
    public let manifestBlob: EncodedBlob
    private var layerList: [any Layer]

    /// Assembles `layers` (base first) under `config`, whose `rootfs.diff_ids` are replaced by
    /// the layers' diffIDs so the two can never disagree.
    ///
    /// Every descriptor is written in `mediaTypes`, whatever family a layer came in (a base
    /// image's Docker layers in an OCI image, say): the blobs stay the same, only their media
    /// types change. Docker's schema 2 has no annotations, so `annotations` are dropped there.
    /// Throws ``MediaTypeFamilyError`` for a layer the family cannot describe.
    public init(config: ImageConfig, layers: [any Layer], annotations: [String: String] = [:],
                mediaTypes: MediaTypeFamily = .oci) throws {
        var config = config
        config.rootfs = RootFS(diffIDs: layers.map(\.diffID))
        let configBlob = try CanonicalJSON.blob(config)
        let layers = try layers.map { layer throws(MediaTypeFamilyError) -> any Layer in
            var retyped = layer
            retyped.descriptor.mediaType = try mediaTypes.layer(layer.descriptor.mediaType)
            return retyped
        }
        let manifest = Manifest(mediaType: mediaTypes.manifest, config: configBlob.descriptor(mediaType: mediaTypes.config),
                                layers: layers.map(\.descriptor), annotations: mediaTypes == .oci ? annotations : [:])
        try manifest.validate()
        self.configBlob = configBlob
        self.manifestBlob = try CanonicalJSON.blob(manifest)
        self.layerList = layers
    }

    /// The same manifest and config over `layers`, which must have the same descriptors (a
    /// fetched copy of a deferred layer, say).
    public func replacingLayers(_ layers: [any Layer]) throws -> AssembledImage {
        guard layers.map(\.descriptor) == layerList.map(\.descriptor) else {
            throw ImageError.malformed(path: "manifest", reason: "replacement layers differ from the assembled ones")
        }
        var copy = self
        copy.layerList = layers
        return copy
    }

    /// The manifest's canonical bytes.
    public func rawManifest() throws -> Data { manifestBlob.bytes }
    /// The config's canonical bytes.
    public func rawConfig() throws -> Data { configBlob.bytes }
    /// The layers given at assembly.
    public func layers() throws -> [any Layer] { layerList }
}
