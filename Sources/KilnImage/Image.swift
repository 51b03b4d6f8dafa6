import Foundation
import KilnOCI

/// A single-platform container image: a manifest, its config, and its layers.
///
/// Sources (a layout on disk, a docker-archive, an image being assembled) differ in where the
/// bytes live, so the protocol hands out exact bytes and lazily opened layers; the parsed
/// views and digests come from the extension and are the same for every source.
public protocol Image: Sendable {
    /// The manifest exactly as stored: its sha256 is the image's digest.
    func rawManifest() throws -> Data
    /// The config blob exactly as stored.
    func rawConfig() throws -> Data
    /// The layers, base first, in the manifest's order; no layer bytes are read.
    func layers() throws -> [any Layer]
}

extension Image {
    /// The parsed, validated manifest.
    public func manifest() throws -> Manifest {
        do { return try Manifest(validating: try rawManifest()) } catch let error as DocumentError {
            throw ImageError.malformed(path: "manifest", reason: error.description)
        }
    }

    /// The parsed, validated config.
    public func config() throws -> ImageConfig {
        do { return try ImageConfig(validating: try rawConfig()) } catch let error as DocumentError {
            throw ImageError.malformed(path: "config", reason: error.description)
        }
    }

    /// sha256 of the manifest bytes.
    public func digest() throws -> Digest {
        Digest.sha256(of: try rawManifest())
    }

    /// A descriptor of the manifest, as an index or a registry would list it.
    public func manifestDescriptor(annotations: [String: String] = [:]) throws -> Descriptor {
        let bytes = try rawManifest()
        let manifest = try manifest()
        return Descriptor(mediaType: manifest.mediaType ?? .ociManifest, digest: Digest.sha256(of: bytes),
                          size: Int64(bytes.count), annotations: annotations)
    }
}
