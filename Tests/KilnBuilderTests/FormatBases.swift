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
    /// `marked` adds a layer with `/platform` holding the platform's text, so a test can tell
    /// which manifest a stage got.
    func layout(platforms: [String], refName: String = "1", marked: Bool = false) throws -> URL {
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
            if marked {
                let tree = directory.appendingPathComponent("marker-tree")
                try? FileManager.default.removeItem(at: tree)
                try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: tree.appendingPathComponent("platform"))
                let tarFile = directory.appendingPathComponent("marker.tar")
                try ProcessRunner.checked("tar", ["-C", tree.path, "--owner=0", "--group=0", "-cf", tarFile.path, "platform"])
                let tar = try Data(contentsOf: tarFile)
                let digest = Digest.sha256(of: tar)
                try tar.write(to: blobs.appendingPathComponent(digest.encoded))
                try FileManager.default.removeItem(at: tarFile)
                try FileManager.default.removeItem(at: tree)
                var rootfs = config["rootfs"] as? [String: Any] ?? [:]
                rootfs["diff_ids"] = (rootfs["diff_ids"] as? [String] ?? []) + [digest.description]
                config["rootfs"] = rootfs
                if let history = config["history"] as? [[String: Any]] { config["history"] = history + [["created_by": "marker"]] }
                manifest["layers"] = (manifest["layers"] as? [[String: Any]] ?? [])
                    + [["mediaType": MediaType.ociLayer.rawValue, "digest": digest.description, "size": tar.count]]
            }
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

    /// Pushes ``layout(platforms:refName:marked:)`` to `registry` as `base/<repository>:1`, every platform.
    func push(platforms: [String], as repository: String, to registry: TestRegistry, marked: Bool = false) throws -> String {
        let name = "\(registry.host)/base/\(repository):1"
        try ProcessRunner.checked("skopeo", ["copy", "--all", "--dest-tls-verify=false",
                                             "oci:\(try layout(platforms: platforms, marked: marked).path):1", "docker://\(name)"])
        return name
    }
}
