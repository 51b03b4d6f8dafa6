import Foundation
import KilnTestSupport
import Testing

/// Issue 12, "nothing wrong leaves the store": a content-store blob damaged on disk (a layer a
/// step made, a base layer pulled from a registry) never reaches an output. With the real
/// `kiln` binary, a real docker-registry, runc, skopeo and python's tarfile/hashlib: whatever
/// the damage (a flipped bit, a truncation), the output (OCI layout, docker-archive, push) and
/// with or without `--no-cache`, the build either fails naming the blob or fetches/rebuilds it,
/// every blob of every output hashes to its name, and the next build succeeds with the
/// quarantined blob replaced.
@Suite("store integrity: a corrupt store blob never leaves the store", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct StoreIntegrityTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// Which stored blob is damaged.
    enum Victim: String, CaseIterable, Sendable {
        /// The layer of the Dockerfile's last step.
        case stepLayer
        /// The base image's layer, pulled from the test registry.
        case baseLayer
    }

    /// Where the build sends its image.
    enum Output: String, CaseIterable, Sendable {
        case oci, docker, push
    }

    @Test("a damaged store blob fails the build naming it, or is fetched again; no output holds it; the next build succeeds",
          arguments: Victim.allCases, Output.allCases)
    func damagedBlob(victim: Victim, output: Output) async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo made > /made\nCOPY app.txt /app.txt\n", to: "Dockerfile")
            try write("app\n", to: "app.txt")
            for (noCache, truncate) in [(false, false), (true, false), (false, true), (true, true)] {
                let root = harness.directory.appendingPathComponent("root-\(noCache)-\(truncate)").path
                let primed = try run(root: root, [])
                try #require(primed.status == 0, "\(primed.stderr)")
                let digest = try victimDigest(victim, primed: primed, base: base)
                if noCache {
                    // Without the unpacked chains, the next build unpacks the damaged blob itself.
                    try? FileManager.default.removeItem(atPath: root + "/snapshots")
                }
                if truncate {
                    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: root + "/blobs/sha256/" + digest.dropFirst(7)))
                    try handle.truncate(atOffset: try handle.seekToEnd() - 1)
                    try handle.close()
                } else {
                    try flipByte(inBlob: digest, root: root)
                }

                let first = try exportingBuild(root: root, output, attempt: "\(victim)-\(noCache)-\(truncate)-1", registry: registry,
                                               extra: noCache ? ["--no-cache"] : [])
                try checkOutput(first.destination, output)
                if first.result.status != 0 {
                    #expect(first.result.stderr.contains(digest), "the error names the blob: \(first.result.stderr)")
                    #expect(try quarantined(root).contains { $0.hasPrefix(digest.dropFirst(7)) }, "the blob is in quarantine")
                    #expect(!(try outputExists(first.destination, output)), "a failed build leaves no output")
                }

                let second = try exportingBuild(root: root, output, attempt: "\(victim)-\(noCache)-\(truncate)-2", registry: registry,
                                                extra: noCache ? ["--no-cache"] : [])
                #expect(second.result.status == 0, "the next build succeeds: \(second.result.stderr)")
                try checkOutput(second.destination, output)
                // A blob that was quarantined is either gone from the store or back whole.
                for name in try quarantined(root) {
                    let hex = String(name.prefix(64))
                    let path = root + "/blobs/sha256/" + hex
                    if FileManager.default.fileExists(atPath: path) {
                        #expect(try sha256(ofFile: path) == hex, "the store's copy of \(hex) was replaced by good bytes")
                    }
                }
                if victim == .baseLayer, first.result.status != 0 {
                    // The base layer was needed for the output: fetched again from the registry.
                    #expect(try sha256(ofFile: root + "/blobs/sha256/" + digest.dropFirst(7)) == String(digest.dropFirst(7)))
                }
            }
        }
    }

    @Test("editing a blob in an exported OCI layout changes neither the store nor a later export")
    func editedLayout() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo made > /made\n", to: "Dockerfile")
            let root = harness.directory.appendingPathComponent("root").path
            let layout = harness.directory.appendingPathComponent("edited")
            let built = try run(root: root, ["--output", "type=oci,dest=\(layout.path),name=latest"])
            try #require(built.status == 0, "\(built.stderr)")
            let blobs = try FileManager.default.contentsOfDirectory(atPath: layout.path + "/blobs/sha256")
            let stored = Set(try FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256"))
            let shared = blobs.filter { stored.contains($0) }
            #expect(!shared.isEmpty)
            // Each blob is sealed (LayoutBlobSeal): a re-export keeps it unread until it changes.
            for hex in blobs {
                let seal = try ProcessRunner.checked("python3", ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'user.kiln.blob').decode())",
                                                                 layout.path + "/blobs/sha256/" + hex]).stdout
                #expect(seal.hasPrefix("sha256:\(hex) "), "\(seal)")
            }
            for hex in shared {
                try flipByte(atPath: layout.path + "/blobs/sha256/" + hex)
                #expect(try sha256(ofFile: root + "/blobs/sha256/" + hex) == hex, "the store's \(hex) is untouched")
            }
            let later = harness.directory.appendingPathComponent("later")
            let again = try run(root: root, ["--output", "type=oci,dest=\(later.path),name=latest"])
            #expect(again.status == 0, "\(again.stderr)")
            try checkOutput(later.path, .oci)
            #expect(try quarantined(root).isEmpty)
            // Exporting into the edited layout again repairs it.
            let repaired = try run(root: root, ["--output", "type=oci,dest=\(layout.path),name=latest"])
            #expect(repaired.status == 0, "\(repaired.stderr)")
            try checkOutput(layout.path, .oci)
        }
    }

    @Test("an output transform (recompression) of a damaged step layer fails naming it; the next build rebuilds it")
    func damagedDerivationSource() async throws {
        try await withTestRegistry { registry in
            let base = try pushBase(to: registry)
            try write("FROM \(base)\nRUN echo made > /made\n", to: "Dockerfile")
            let root = harness.directory.appendingPathComponent("root").path
            let primed = try run(root: root, [])
            try #require(primed.status == 0, "\(primed.stderr)")
            let digest = try victimDigest(.stepLayer, primed: primed, base: base)
            try flipByte(inBlob: digest, root: root)
            // zstd output: the gzip layer the step made is rewritten, read through the store's check.
            let layout = harness.directory.appendingPathComponent("zstd").path
            let first = try run(root: root, ["--compression", "zstd", "--output", "type=oci,dest=\(layout),name=latest"])
            #expect(first.status != 0)
            #expect(first.stderr.contains(digest) && first.stderr.contains("RUN echo made"), "\(first.stderr)")
            #expect(!FileManager.default.fileExists(atPath: layout))
            #expect(try quarantined(root).contains { $0.hasPrefix(digest.dropFirst(7)) })
            let second = try run(root: root, ["--compression", "zstd", "--output", "type=oci,dest=\(layout),name=latest"])
            #expect(second.status == 0, "\(second.stderr)")
            try checkOutput(layout, .oci)
        }
    }

    // MARK: - Builds

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: harness.context.appendingPathComponent(name))
    }

    /// Pushes the busybox base to `registry` and returns how a Dockerfile names it.
    func pushBase(to registry: TestRegistry) throws -> String {
        _ = try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", harness.base.ociReference,
                                                 "docker://\(registry.host)/base/busybox:1"])
        return "\(registry.host)/base/busybox:1"
    }

    /// `kiln build` of the context in `root`, with a metadata file beside it.
    func run(root: String, _ flags: [String]) throws -> (status: Int32, stderr: String, metadata: URL) {
        let metadata = harness.directory.appendingPathComponent("metadata-\(UUID().uuidString).json")
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--metadata-file", metadata.path] + flags + [harness.context.path],
            environment: ["KILN_ROOT": root], currentDirectory: harness.directory)
        return (result.status, result.stderr, metadata)
    }

    /// A build exporting to a new destination of kind `output`; returns where it went.
    func exportingBuild(root: String, _ output: Output, attempt: String, registry: TestRegistry,
                        extra: [String]) throws -> (result: (status: Int32, stderr: String, metadata: URL), destination: String) {
        let destination: String
        let flags: [String]
        switch output {
        case .oci:
            destination = harness.directory.appendingPathComponent("layout-\(attempt)").path
            flags = ["--output", "type=oci,dest=\(destination),name=latest"]
        case .docker:
            destination = harness.directory.appendingPathComponent("archive-\(attempt).tar").path
            flags = ["--output", "type=docker,dest=\(destination),name=out/app:\(attempt)"]
        case .push:
            destination = "\(registry.host)/out/app:\(attempt)"
            flags = ["-t", destination, "--push"]
        }
        return (try run(root: root, flags + extra), destination)
    }

    /// The digest of the blob to damage: the last step's layer, or the base image's layer.
    func victimDigest(_ victim: Victim, primed: (status: Int32, stderr: String, metadata: URL), base: String) throws -> String {
        switch victim {
        case .stepLayer:
            let steps = try BuildOutcome(primed.metadata).steps
            return try #require(steps.compactMap { $0["layer"] as? String }.last)
        case .baseLayer:
            let raw = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(base)"]).stdout
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
            let layers = try #require(manifest["layers"] as? [[String: Any]])
            return try #require(layers.first?["digest"] as? String)
        }
    }

    // MARK: - Damage and checks

    func flipByte(inBlob digest: String, root: String) throws {
        try flipByte(atPath: root + "/blobs/sha256/" + digest.dropFirst(7))
    }

    /// Flips one bit in the middle of the file: same size, different digest.
    func flipByte(atPath path: String) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let middle = try handle.seekToEnd() / 2
        try handle.seek(toOffset: middle)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: middle)
        try handle.write(contentsOf: Data([byte ^ 0x10]))
    }

    func quarantined(_ root: String) throws -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/quarantine")) ?? []
    }

    func sha256(ofFile path: String) throws -> String {
        try ProcessRunner.checked("sha256sum", [path]).stdout.split(separator: " ").first.map(String.init) ?? ""
    }

    func outputExists(_ destination: String, _ output: Output) throws -> Bool {
        switch output {
        case .oci, .docker:
            return FileManager.default.fileExists(atPath: destination)
        case .push:
            return (try? ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(destination)"])) != nil
        }
    }

    /// When the output exists, every blob in it hashes to its name (python's hashlib and
    /// tarfile read the layout or archive; skopeo copies a pushed image out of the registry).
    func checkOutput(_ destination: String, _ output: Output) throws {
        guard try outputExists(destination, output) else { return }
        var layout = destination
        switch output {
        case .oci:
            break
        case .docker:
            let checked = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.archiveCheck, destination])
            #expect(checked.status == 0, "docker-archive \(destination): \(checked.stdout) \(checked.stderr)")
            return
        case .push:
            layout = harness.directory.appendingPathComponent("pulled-\(UUID().uuidString)").path
            let copied = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"),
                                               ["skopeo", "copy", "--src-tls-verify=false", "docker://\(destination)", "oci:\(layout):latest"])
            #expect(copied.status == 0, "pushed image \(destination) copies out whole: \(copied.stderr)")
        }
        let checked = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.layoutCheck, layout])
        #expect(checked.status == 0, "OCI layout \(layout): \(checked.stdout) \(checked.stderr)")
    }

    /// Every blob of the layout hashes to its name, and every blob the index's manifests name is there.
    static let layoutCheck = #"""
import hashlib, json, os, sys
layout = sys.argv[1]
blobs = os.path.join(layout, "blobs", "sha256")
bad = []
for name in os.listdir(blobs):
    with open(os.path.join(blobs, name), "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != name:
            bad.append(name)
index = json.load(open(os.path.join(layout, "index.json")))
for entry in index["manifests"]:
    manifest = json.load(open(os.path.join(blobs, entry["digest"].split(":")[1])))
    for blob in [manifest["config"]] + manifest["layers"]:
        if not os.path.exists(os.path.join(blobs, blob["digest"].split(":")[1])):
            bad.append("missing " + blob["digest"])
print(" ".join(bad))
sys.exit(1 if bad else 0)
"""#

    /// Every layer and the config of the docker-archive hash to their names.
    static let archiveCheck = #"""
import hashlib, json, sys, tarfile
bad = []
with tarfile.open(sys.argv[1]) as archive:
    manifest = json.load(archive.extractfile("manifest.json"))
    for entry in manifest:
        for name in [entry["Config"]] + entry["Layers"]:
            data = archive.extractfile(name).read()
            if hashlib.sha256(data).hexdigest() != name.split(".")[0]:
                bad.append(name)
print(" ".join(bad))
sys.exit(1 if bad else 0)
"""#
}
