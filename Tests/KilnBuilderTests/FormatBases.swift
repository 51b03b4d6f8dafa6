import Foundation
import KilnOCI
import KilnTestSupport

/// Base images in the forms the media-type and platform tests need, all with busybox's layers:
/// pushed as OCI or as Docker schema 2 (skopeo converts), or written as layouts whose configs
/// claim other platforms (nothing RUNs in them, so the content need not be of that platform).
struct FormatBases {
    /// The media types a base is pushed with.
    enum Format: String, CaseIterable, CustomStringConvertible {
        case oci
        case docker
        var description: String { rawValue }
    }

    let harness: BuildHarness

    /// Pushes the busybox base to `registry` in `format`; returns how a Dockerfile names it.
    func push(_ format: Format, to registry: TestRegistry) throws -> String {
        let name = "\(registry.host)/base/busybox-\(format):1"
        let conversion = format == .docker ? ["--format", "v2s2"] : ["--format", "oci"]
        try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false"] + conversion
                                  + [harness.base.ociReference, "docker://\(name)"])
        return name
    }

    /// Writes an OCI layout holding, under `refName`, busybox's layers for each of `platforms`
    /// (`os/arch[/variant]`): one platform gives a single manifest, several an index of them.
    func layout(platforms: [String], refName: String = "1") throws -> URL {
        let source = harness.base.layout
        let directory = harness.directory.appendingPathComponent("platforms-\(UUID().uuidString)")
        let blobs = directory.appendingPathComponent("blobs/sha256")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let base = try ImageDocuments.layout(source, refName: harness.base.refName)
        for digest in base.layerDigests {
            let name = digest.replacingOccurrences(of: "sha256:", with: "")
            try FileManager.default.copyItem(at: source.appendingPathComponent("blobs/sha256/\(name)"), to: blobs.appendingPathComponent(name))
        }
        func store(_ object: Any) throws -> [String: Any] {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let digest = Digest.sha256(of: data)
            try data.write(to: blobs.appendingPathComponent(digest.encoded))
            return ["digest": digest.description, "size": data.count]
        }
        var entries: [[String: Any]] = []
        for text in platforms {
            let parts = text.split(separator: "/").map(String.init)
            var config = base.config
            config["os"] = parts[0]
            config["architecture"] = parts[1]
            config["variant"] = parts.count > 2 ? parts[2] : nil
            var manifest = base.manifest
            manifest["config"] = try store(config).merging(["mediaType": MediaType.ociConfig.rawValue]) { $1 }
            var platform: [String: Any] = ["os": parts[0], "architecture": parts[1]]
            if parts.count > 2 { platform["variant"] = parts[2] }
            entries.append(try store(manifest).merging(["mediaType": MediaType.ociManifest.rawValue, "platform": platform]) { $1 })
        }
        var top = entries[0]
        top["platform"] = nil
        if entries.count > 1 {
            top = try store(["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": entries])
                .merging(["mediaType": MediaType.ociIndex.rawValue]) { $1 }
        }
        top["annotations"] = ["org.opencontainers.image.ref.name": refName]
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": [top]]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]).write(to: directory.appendingPathComponent("index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: directory.appendingPathComponent("oci-layout"))
        return directory
    }

    /// Pushes ``layout(platforms:refName:)`` to `registry` as `base/<repository>:1`, every platform.
    func push(platforms: [String], as repository: String, to registry: TestRegistry) throws -> String {
        let name = "\(registry.host)/base/\(repository):1"
        try ProcessRunner.checked("skopeo", ["copy", "--all", "--dest-tls-verify=false",
                                             "oci:\(try layout(platforms: platforms).path):1", "docker://\(name)"])
        return name
    }
}
