import Foundation
import KilnCache
import KilnStorage
import KilnTestSupport

/// Builds with the `kiln` binary into OCI layouts and reads back what they hold, for the
/// small-image tests (`--squash`, `--commit=explicit`): layers, their tar entries, history,
/// sizes, the metadata file's steps, and the tree `umoci unpack` gives.
struct SmallImageFixture {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    var contextFlag: String { "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)" }

    /// One build's output layout and what it reported.
    struct Built {
        let layout: URL
        let result: KilnBinary.Result
        /// `kiln.steps` of the metadata file.
        let steps: [[String: Any]]

        /// The step records that are not metadata, in order.
        var filesystemSteps: [[String: Any]] { steps.filter { ($0["status"] as? String) != "metadata" } }
    }

    /// Builds `dockerfile` with `flags` (and `environment` for `kiln`) into a fresh OCI layout.
    func build(_ dockerfile: String, _ flags: [String] = [], root: URL? = nil, environment: [String: String] = [:]) throws -> Built {
        let id = UUID().uuidString.prefix(8)
        let file = harness.directory.appendingPathComponent("Dockerfile-\(id)")
        try Data(dockerfile.utf8).write(to: file)
        let layout = harness.directory.appendingPathComponent("out-\(id)")
        let metadata = harness.directory.appendingPathComponent("metadata-\(id).json")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "-f", file.path, "--build-context", contextFlag, "--metadata-file", metadata.path,
             "--output", "type=oci,dest=\(layout.path),name=test"] + flags + [harness.context.path],
            environment: environment.merging(["KILN_ROOT": (root ?? harness.root.url).path]) { $1 })
        var steps: [[String: Any]] = []
        if let data = FileManager.default.contents(atPath: metadata.path),
           let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            steps = document["kiln.steps"] as? [[String: Any]] ?? []
        }
        return Built(layout: layout, result: result, steps: steps)
    }

    func writeContext(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: harness.context.appendingPathComponent(name))
    }

    /// The layout's image: manifest layers (digest, size), config size and config.
    struct Image {
        let layout: URL
        let layers: [(digest: String, size: Int)]
        let configSize: Int
        let config: [String: Any]

        /// Config and layer blobs, in bytes: what a registry stores for the image besides its manifest.
        var size: Int { configSize + layers.reduce(0) { $0 + $1.size } }
        var history: [[String: Any]] { config["history"] as? [[String: Any]] ?? [] }
        var createdBy: [String] { history.map { $0["created_by"] as? String ?? "" } }
        var emptyLayerFlags: [Bool] { history.map { $0["empty_layer"] as? Bool ?? false } }

        func blob(_ digest: String) -> URL {
            layout.appendingPathComponent("blobs/sha256/\(digest.replacingOccurrences(of: "sha256:", with: ""))")
        }

        /// The entry names of layer `index` (python's tarfile reads it, not Kiln).
        func entries(ofLayer index: Int) throws -> [String] {
            let script = "import sys, tarfile\nfor m in tarfile.open(sys.argv[1]): print(m.name.rstrip('/'))"
            let listed = try ProcessRunner.checked("python3", ["-c", script, blob(layers[index].digest).path])
            return listed.stdout.split(separator: "\n").map(String.init)
        }
    }

    func image(_ built: Built) throws -> Image {
        let documents = try ImageDocuments.layout(built.layout, refName: "test")
        return Image(layout: built.layout, layers: documents.layers.map { ($0["digest"] as? String ?? "", $0["size"] as? Int ?? 0) },
                     configSize: documents.rawConfig.count, config: documents.config)
    }

    /// The base image's layer and history counts, which every built image starts with.
    func baseCounts() throws -> (layers: Int, history: Int) {
        let documents = try ImageDocuments.layout(harness.base.layout, refName: harness.base.refName)
        return (documents.layers.count, (documents.config["history"] as? [Any])?.count ?? 0)
    }

    /// How many cache entries the Kiln root at `root` holds.
    func cacheEntryCount(root: URL) -> Int {
        (try? LocalCacheBackend(root: KilnRoot(url: root)).entries().count) ?? 0
    }

    /// The rootfs `umoci unpack` makes of the layout's image.
    func unpack(_ built: Built) throws -> URL {
        let bundle = harness.directory.appendingPathComponent("bundle-\(UUID().uuidString.prefix(8))")
        _ = try ProcessRunner.checked("umoci", ["unpack", "--image", "\(built.layout.path):test", bundle.path])
        return bundle.appendingPathComponent("rootfs")
    }
}
