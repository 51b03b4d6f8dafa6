import Foundation

/// One OCI image index joining single-platform base images, written as an OCI layout (made by
/// the tests, not by Kiln, so a multi-platform base does not depend on the code under test) and
/// pushed with `skopeo copy --all`.
public struct ImageIndexLayout: Sendable {
    /// The layout directory.
    public let layout: URL
    /// The index's ref name in ``layout``.
    public let refName: String
    /// The index's digest.
    public let digest: String
    /// The children: `os/architecture[/variant]` → manifest digest, as the index lists them.
    public let manifests: [String: String]

    /// Writes a layout at `layout` whose `index.json` lists, under `refName`, one image index of
    /// `images` (each the first manifest of its layout, platform taken from its config).
    public static func join(_ images: [BaseImages.BaseImage], into layout: URL, refName: String) throws -> ImageIndexLayout {
        let blobs = layout.appendingPathComponent("blobs/sha256")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        var descriptors: [[String: Any]] = []
        var manifests: [String: String] = [:]
        for image in images {
            let documents = try ImageDocuments.layout(image.layout, refName: image.refName)
            // Every blob of the source layout: its manifest, config and layers.
            for name in try FileManager.default.contentsOfDirectory(atPath: image.layout.appendingPathComponent("blobs/sha256").path)
            where !FileManager.default.fileExists(atPath: blobs.appendingPathComponent(name).path) {
                try FileManager.default.copyItem(at: image.layout.appendingPathComponent("blobs/sha256/\(name)"),
                                                 to: blobs.appendingPathComponent(name))
            }
            var platform: [String: Any] = ["os": documents.config["os"] as? String ?? "linux",
                                           "architecture": documents.config["architecture"] as? String ?? "amd64"]
            if let variant = documents.config["variant"] as? String { platform["variant"] = variant }
            let digest = try Self.sha256Digest(of: documents.rawManifest)
            descriptors.append(["mediaType": documents.manifest["mediaType"] as? String ?? "application/vnd.oci.image.manifest.v1+json",
                                "digest": digest, "size": documents.rawManifest.count, "platform": platform])
            manifests[documents.configPlatform] = digest
        }
        let index = try JSONSerialization.data(
            withJSONObject: ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descriptors],
            options: [.sortedKeys])
        let digest = try Self.sha256Digest(of: index)
        try index.write(to: blobs.appendingPathComponent(String(digest.dropFirst("sha256:".count))))
        let top: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [["mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": index.count,
                           "annotations": ["org.opencontainers.image.ref.name": refName]]],
        ]
        try JSONSerialization.data(withJSONObject: top, options: [.sortedKeys]).write(to: layout.appendingPathComponent("index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: layout.appendingPathComponent("oci-layout"))
        return ImageIndexLayout(layout: layout, refName: refName, digest: digest, manifests: manifests)
    }

    /// Pushes the index and every child to `reference` (`127.0.0.1:PORT/repo:tag`, plain HTTP).
    public func push(to reference: String) throws {
        try ProcessRunner.checked("skopeo", ["copy", "--all", "--dest-tls-verify=false",
                                             "oci:\(layout.path):\(refName)", "docker://\(reference)"])
    }

    /// `sha256:<hex>` of `data`, from coreutils' sha256sum (the test support links no crypto).
    public static func sha256Digest(of data: Data) throws -> String {
        let result = try ProcessRunner.checked("sha256sum", ["-"], stdin: data)
        return "sha256:" + (result.stdout.split(separator: " ").first.map(String.init) ?? "")
    }
}
