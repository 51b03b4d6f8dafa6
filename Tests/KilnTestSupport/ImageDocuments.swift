import Foundation

/// An image's manifest, config and (in a layout) index entry, read straight from where they
/// are stored: a layout's JSON files, or a registry through `skopeo inspect --raw`. Tests check
/// what was written, not what Kiln says it wrote.
public struct ImageDocuments {
    /// The manifest's bytes.
    public var rawManifest: Data
    /// The config's bytes.
    public var rawConfig: Data
    /// The layout's `index.json` entry for the image (nil for a registry image).
    public var indexEntry: [String: Any]?

    /// The manifest as a JSON object.
    public var manifest: [String: Any] { (try? JSONSerialization.jsonObject(with: rawManifest)) as? [String: Any] ?? [:] }
    /// The config as a JSON object.
    public var config: [String: Any] { (try? JSONSerialization.jsonObject(with: rawConfig)) as? [String: Any] ?? [:] }
    /// The layer descriptors.
    public var layers: [[String: Any]] { manifest["layers"] as? [[String: Any]] ?? [] }
    /// The layers' digests, base first.
    public var layerDigests: [String] { layers.compactMap { $0["digest"] as? String } }

    /// Every media type the manifest states: its own, the config's, each layer's.
    public var mediaTypes: [String] {
        [manifest["mediaType"] as? String ?? "(none)", (manifest["config"] as? [String: Any])?["mediaType"] as? String ?? "(none)"]
            + layers.map { $0["mediaType"] as? String ?? "(none)" }
    }

    /// Whether every media type is OCI's (`application/vnd.oci.`) or every one Docker's (`application/vnd.docker.`).
    public func allMediaTypes(_ prefix: String) -> Bool {
        mediaTypes.allSatisfy { $0.hasPrefix(prefix) }
    }

    /// The config's `os/architecture[/variant]`.
    public var configPlatform: String {
        [config["os"] as? String, config["architecture"] as? String, config["variant"] as? String]
            .compactMap { $0 }.joined(separator: "/")
    }

    /// The image named `refName` (the first when nil) in the OCI layout `directory`.
    public static func layout(_ directory: URL, refName: String? = nil) throws -> ImageDocuments {
        func blob(_ digest: String) throws -> Data {
            try Data(contentsOf: directory.appendingPathComponent("blobs/sha256/\(digest.replacingOccurrences(of: "sha256:", with: ""))"))
        }
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("index.json"))) as? [String: Any]
        let entries = index?["manifests"] as? [[String: Any]] ?? []
        guard let entry = entries.first(where: { entry in
            refName == nil || (entry["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == refName
        }), let digest = entry["digest"] as? String else {
            throw OCILayoutSummary.Unreadable(description: "\(directory.path) has no image \(refName ?? "")")
        }
        let rawManifest = try blob(digest)
        let manifest = try JSONSerialization.jsonObject(with: rawManifest) as? [String: Any]
        guard let configDigest = (manifest?["config"] as? [String: Any])?["digest"] as? String else {
            throw OCILayoutSummary.Unreadable(description: "manifest \(digest) has no config")
        }
        return ImageDocuments(rawManifest: rawManifest, rawConfig: try blob(configDigest), indexEntry: entry)
    }

    /// The image `reference` (`127.0.0.1:PORT/repo:tag`) in a plain-HTTP registry, as skopeo reads it.
    public static func registry(_ reference: String) throws -> ImageDocuments {
        let manifest = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdoutData
        let config = try ProcessRunner.checked("skopeo", ["inspect", "--config", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdoutData
        return ImageDocuments(rawManifest: manifest, rawConfig: config, indexEntry: nil)
    }
}
