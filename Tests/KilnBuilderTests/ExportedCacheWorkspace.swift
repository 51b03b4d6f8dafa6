import Foundation
import KilnTestSupport
import Testing

/// The folder, machines and measurements of the exported-cache-mount proofs: `kiln build` of a
/// ``DependencyProject`` on the Debian base with the host network, and what the registry
/// stored and served.
struct ExportedCacheWorkspace {
    let directory: URL
    let base: BaseImages.BaseImage

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-exported-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        base = try BaseImages.debianPackageManagers()
    }

    /// A new machine: an empty Kiln root of its own.
    func freshRoot(_ name: String) -> String {
        directory.appendingPathComponent("root-\(name)").path
    }

    /// Runs `body` with a package index serving ``TestWheels/dependencySet`` and a registry,
    /// then stops both and removes the folder.
    func withIndexAndRegistry(_ body: (TestPackageIndex, TestRegistry) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let wheels = directory.appendingPathComponent("wheels")
        try TestWheels.write(to: wheels)
        try await withPackageIndex(wheels: wheels) { index in
            try await withTestRegistry { registry in try await body(index, registry) }
        }
    }

    /// The `kiln build` arguments for `project` with `flags`: the Debian base as `debian`,
    /// the host network to reach the index, the metadata to `metadata` when given.
    func arguments(_ project: DependencyProject, _ flags: [String], metadata: URL? = nil) -> [String] {
        ["build", "--progress", "plain", "--network", "host", "--allow", "network.host",
         "--build-context", "debian=oci-layout://\(base.layout.path):\(base.refName)"]
            + (metadata.map { ["--metadata-file", $0.path] } ?? []) + flags + [project.context.path]
    }

    /// What one build of a dependency project showed.
    struct Outcome {
        var metadata: BuildOutcome
        var stderr: String

        /// Whether the resolving RUN step `executed` or was `cached`.
        var resolveStatus: String? {
            metadata.steps.first { (($0["step"] as? [String: Any])?["text"] as? String)?.contains("resolve.sh") == true }?["status"] as? String
        }

        /// The cache mount's files when the RUN started.
        var cacheBefore: [String]? { DependencyProject.cacheState("cache-before", in: stderr) }
        /// The cache mount's files when the RUN ended.
        var cacheAfter: [String]? { DependencyProject.cacheState("cache-after", in: stderr) }
    }

    /// Builds `project` in `root` with `flags`; the build must succeed.
    func build(_ project: DependencyProject, root: String, _ flags: [String]) throws -> Outcome {
        let metadata = directory.appendingPathComponent("metadata-\(UUID().uuidString).json")
        let result = try KilnBinary.run(arguments(project, flags, metadata: metadata), environment: ["KILN_ROOT": root],
                                        currentDirectory: directory)
        #expect(result.status == 0, "\(result.stderr.suffix(6000))")
        return Outcome(metadata: try BuildOutcome(metadata), stderr: result.stderr)
    }

    /// The blobs `registry` stores, digest to size.
    func storedBlobs(_ registry: TestRegistry) -> [String: Int] {
        let root = registry.directory.appendingPathComponent("storage/docker/registry/v2/blobs/sha256")
        var blobs: [String: Int] = [:]
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            let folder = root.appendingPathComponent(prefix)
            for hex in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
                let data = folder.appendingPathComponent("\(hex)/data").path
                let size = (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? nil
                blobs["sha256:\(hex)"] = size ?? 0
            }
        }
        return blobs
    }

    /// The blobs `registry` served with a successful GET, in log order, with the bytes its
    /// access log says it sent (`"GET /v2/…/blobs/sha256:… HTTP/1.1" 200 BYTES`).
    func blobGETs(_ registry: TestRegistry) -> [(digest: String, bytes: Int)] {
        registry.log().split(separator: "\n").compactMap { line in
            guard let start = line.range(of: "\"GET ") else { return nil }
            let request = line[start.upperBound...]
            let target = request.prefix { $0 != " " }
            guard let blobs = target.range(of: "/blobs/") else { return nil }
            guard let close = request.range(of: "\" ") else { return nil }
            let fields = request[close.upperBound...].split(separator: " ")
            guard fields.count >= 2, fields[0].hasPrefix("2"), let bytes = Int(fields[1]) else { return nil }
            return (String(target[blobs.upperBound...].prefix { $0 != "?" }), bytes)
        }
    }
}
