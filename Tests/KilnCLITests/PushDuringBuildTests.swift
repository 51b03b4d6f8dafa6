import Foundation
import KilnTestSupport
import Testing

/// `kiln build --push` pushes each layer of the image while later steps run and the manifest
/// last, against a real registry whose access log records the order of requests. Nothing here
/// is timed: the order of events is the proof.
@Suite(
    "Push during the build",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct PushDuringBuildTests {
    /// A context holding `payload` (a fixed mtime, so its COPY layer is the same bytes in every
    /// root) and `dockerfile`.
    static func makeContext(in directory: URL, dockerfile: String) throws -> URL {
        let context = directory.appendingPathComponent("context-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        let payload = context.appendingPathComponent("payload")
        try Data("a file copied by the build\n".utf8).write(to: payload)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)], ofItemAtPath: payload.path)
        try Data(dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
        return context
    }

    static var busyboxContext: String {
        get throws {
            let base = try BaseImages.busybox()
            return "busybox=oci-layout://\(base.layout.path):\(base.refName)"
        }
    }

    /// Runs kiln with a root of its own under `directory` (`root` names it).
    static func kiln(_ arguments: [String], in directory: URL, root: String = "kiln-root",
                     environment extra: [String: String] = [:]) throws -> KilnBinary.Result {
        var environment = RegistryCommandTests.environment(directory).merging(extra) { $1 }
        environment["KILN_ROOT"] = directory.appendingPathComponent(root).path
        return try KilnBinary.run(arguments, environment: environment)
    }

    /// The layer digests the metadata file lists, step by step.
    static func stepLayers(_ metadataFile: URL) throws -> [String: String] {
        let metadata = try PlatformIndexBuildTests.json(metadataFile)
        let steps = try #require(metadata["kiln.steps"] as? [[String: Any]])
        var layers: [String: String] = [:]
        for step in steps {
            guard let layer = step["layer"] as? String, let identity = step["step"] as? [String: Any],
                  let text = identity["text"] as? String else { continue }
            layers[text] = layer
        }
        return layers
    }

    /// The registry's access log lines that change something (PUT, POST, PATCH), in order.
    static func writes(_ registry: TestRegistry) -> [String] {
        registry.log().split(separator: "\n").map(String.init).filter {
            $0.contains("\"PUT /v2/") || $0.contains("\"POST /v2/") || $0.contains("\"PATCH /v2/")
        }
    }

    /// A digest's hex part: how the access log shows it, whether the query escapes the colon or not.
    static func hex(_ digest: String) -> String {
        String(digest.dropFirst("sha256:".count))
    }

    /// The position in `writes` of the request that committed the blob `digest` (the upload's last PUT).
    static func commit(of digest: String, in writes: [String]) -> Int? {
        writes.firstIndex { $0.contains("\"PUT ") && $0.contains("/blobs/uploads/") && $0.contains(hex(digest)) }
    }

    /// The JSON progress events kiln printed.
    static func events(_ result: KilnBinary.Result) -> [[String: Any]] {
        result.stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test("--push: the last step waits until an earlier step's layer is in the registry, and the build still ends with the tag")
    func layerUploadedWhileLastStepRuns() async throws {
        try await withTestRegistry { registry in
            try await RegistryCommandTests.withDirectory { directory in
                // The COPY layer's digest, from a build in another root: the same bytes in any root.
                let first = try Self.makeContext(in: directory, dockerfile: "FROM busybox\nCOPY payload /payload\n")
                let metadataFile = directory.appendingPathComponent("first.json")
                let built = try Self.kiln(["build", first.path, "--build-context", try Self.busyboxContext,
                                           "--output", "type=oci,dest=\(directory.appendingPathComponent("first").path)",
                                           "--metadata-file", metadataFile.path], in: directory, root: "first-root")
                try #require(built.status == 0, "\(built.stderr)")
                let layer = try #require(try Self.stepLayers(metadataFile)["COPY payload /payload"])

                // The last step ends only once that blob can be read from the target repository:
                // were the layer pushed after the build, this build would fail (the loop gives up).
                let url = "http://\(registry.host)/v2/early/app/blobs/\(layer)"
                let context = try Self.makeContext(in: directory, dockerfile: """
                    FROM busybox
                    COPY payload /payload
                    RUN --network=host i=0; while [ $i -lt 1200 ]; do if /bin/busybox wget -q -O /dev/null \(url); then echo layer-seen; exit 0; fi; i=$((i+1)); sleep 0.1; done; echo "the layer never reached the registry"; exit 1

                    """)
                let reference = "\(registry.host)/early/app:v1"
                let pushMetadata = directory.appendingPathComponent("push.json")
                let pushed = try Self.kiln(["build", context.path, "--build-context", try Self.busyboxContext, "--allow", "network.host",
                                            "--progress", "json", "--push", "-t", reference, "--metadata-file", pushMetadata.path],
                                           in: directory)
                #expect(pushed.status == 0, "\(pushed.stderr)")
                // The COPY was executed in this root, not replayed: the layer pushed is the one the step committed.
                let steps = try #require(try PlatformIndexBuildTests.json(pushMetadata)["kiln.steps"] as? [[String: Any]])
                #expect(steps.compactMap { $0["status"] as? String } == ["executed", "executed"])
                #expect(try Self.stepLayers(pushMetadata)["COPY payload /payload"] == layer)
                // Each executed step that made a layer has the upload of it in its split (the RUN makes none).
                for step in steps where step["layer"] != nil {
                    let timing = try #require(step["timing"] as? [String: Any])
                    let upload = try #require(timing["uploadSeconds"] as? Double, "\(step)")
                    #expect(upload >= 0)
                }

                // Progress: the layer's push finished before the last step did.
                let events = Self.events(pushed)
                let uploaded = events.firstIndex { $0["type"] as? String == "transfer" && $0["digest"] as? String == layer }
                let lastFinished = events.firstIndex {
                    $0["type"] as? String == "step-finished" && (($0["step"] as? [String: Any])?["text"] as? String)?.hasPrefix("RUN") == true
                }
                let (upload, last) = (try #require(uploaded), try #require(lastFinished))
                #expect(upload < last)

                // The registry: the blob was committed before any manifest, the tag is the last write.
                let writes = Self.writes(registry)
                let blobCommit = try #require(Self.commit(of: layer, in: writes), "\(writes)")
                let firstManifest = try #require(writes.firstIndex { $0.contains("/manifests/") })
                #expect(blobCommit < firstManifest)
                #expect(writes.last?.contains("\"PUT /v2/early/app/manifests/v1 ") == true, "\(writes)")
                #expect(try RegistryCommandTests.skopeoDigest("docker://\(reference)")
                    == (try PlatformIndexBuildTests.json(pushMetadata)["containerimage.digest"] as? String))
            }
        }
    }

    @Test("--push of a build whose last step fails: non-zero exit naming the step, no tag and no manifest in the registry")
    func failedBuildLeavesNoTag() async throws {
        try await withTestRegistry { registry in
            try await RegistryCommandTests.withDirectory { directory in
                let context = try Self.makeContext(in: directory, dockerfile: """
                    FROM busybox
                    COPY payload /payload
                    RUN echo about-to-fail && exit 3

                    """)
                let reference = "\(registry.host)/failed/app:v1"
                let result = try Self.kiln(["build", context.path, "--build-context", try Self.busyboxContext, "--progress", "plain",
                                            "--push", "-t", reference], in: directory)
                #expect(result.status != 0)
                #expect(result.stderr.contains("RUN echo about-to-fail && exit 3"), "\(result.stderr)")
                #expect(registry.requestCount("PUT", path: "/manifests/") == 0)
                let inspect = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/skopeo"),
                                                    ["inspect", "--tls-verify=false", "docker://\(reference)"])
                #expect(inspect.status != 0)
                #expect(inspect.stderr.contains("manifest unknown"), "\(inspect.stderr)")
            }
        }
    }

    @Test("--push uploads only the image's layers: never a builder stage's, never those --squash or SOURCE_DATE_EPOCH replace")
    func onlyTheImagesLayers() async throws {
        try await withTestRegistry { registry in
            try await RegistryCommandTests.withDirectory { directory in
                let context = try Self.makeContext(in: directory, dockerfile: """
                    FROM busybox AS builder
                    RUN echo built > /artifact && echo builder-only > /scratch-file
                    FROM busybox
                    COPY --from=builder /artifact /artifact
                    RUN echo second > /second

                    """)
                let metadataFile = directory.appendingPathComponent("metadata.json")
                let result = try Self.kiln(["build", context.path, "--build-context", try Self.busyboxContext, "--progress", "plain",
                                            "--push", "-t", "\(registry.host)/stages/app:v1", "--metadata-file", metadataFile.path],
                                           in: directory)
                try #require(result.status == 0, "\(result.stderr)")
                let layers = try Self.stepLayers(metadataFile)
                let builderLayer = try #require(layers["RUN echo built > /artifact && echo builder-only > /scratch-file"])
                let copyLayer = try #require(layers["COPY --from=builder /artifact /artifact"])
                // Upload time is recorded for what was pushed during the build, and only that.
                let records = try #require(try PlatformIndexBuildTests.json(metadataFile)["kiln.steps"] as? [[String: Any]])
                let uploads = Dictionary(records.compactMap { record -> (String, Bool)? in
                    guard let text = (record["step"] as? [String: Any])?["text"] as? String,
                          let timing = record["timing"] as? [String: Any] else { return nil }
                    return (text, timing["uploadSeconds"] != nil)
                }, uniquingKeysWith: { first, _ in first })
                #expect(uploads["RUN echo built > /artifact && echo builder-only > /scratch-file"] == false)
                #expect(uploads["COPY --from=builder /artifact /artifact"] == true)
                let log = registry.log()
                #expect(!log.contains(Self.hex(builderLayer)))
                #expect(Self.commit(of: copyLayer, in: Self.writes(registry)) != nil)

                // --squash: the target's own layers become one after the build; only that one is pushed.
                let squashMetadata = directory.appendingPathComponent("squash.json")
                let squashed = try Self.kiln(["build", context.path, "--build-context", try Self.busyboxContext, "--progress", "plain",
                                              "--squash", "--push", "-t", "\(registry.host)/squashed/app:v1",
                                              "--metadata-file", squashMetadata.path], in: directory)
                try #require(squashed.status == 0, "\(squashed.stderr)")
                let squashLog = registry.log().split(separator: "\n").filter { $0.contains("/v2/squashed/app/") }
                for own in [copyLayer, try #require(layers["RUN echo second > /second"])] {
                    #expect(!squashLog.contains { $0.contains(Self.hex(own)) })
                }
                let base = try RegistryCommandTests.skopeo(["inspect", "--raw", try BaseImages.busybox().ociReference])
                let baseLayers = try #require(try JSONSerialization.jsonObject(with: base.stdoutData) as? [String: Any])["layers"] as? [Any]
                let manifest = try RegistryCommandTests.skopeo(["inspect", "--raw", "--tls-verify=false",
                                                                "docker://\(registry.host)/squashed/app:v1"])
                let document = try #require(try JSONSerialization.jsonObject(with: manifest.stdoutData) as? [String: Any])
                #expect((document["layers"] as? [Any])?.count == (baseLayers?.count ?? 0) + 1)

                // SOURCE_DATE_EPOCH: every step layer is rewritten after the build; the unclamped ones are never pushed.
                let clamped = try Self.kiln(["build", context.path, "--build-context", try Self.busyboxContext, "--progress", "plain",
                                             "--push", "-t", "\(registry.host)/clamped/app:v1"], in: directory,
                                            environment: ["SOURCE_DATE_EPOCH": "0"])
                try #require(clamped.status == 0, "\(clamped.stderr)")
                let clampLog = registry.log().split(separator: "\n").filter { $0.contains("/v2/clamped/app/") }
                for own in [copyLayer, try #require(layers["RUN echo second > /second"])] {
                    #expect(!clampLog.contains { $0.contains(Self.hex(own)) })
                }
            }
        }
    }

    @Test("multi-platform --push: the layers go while the platforms build, the index under the tag is the last write")
    func multiPlatformIndexLast() async throws {
        try await withTestRegistry { registry in
            try await RegistryCommandTests.withDirectory { directory in
                let context = try PlatformIndexBuildTests.makeContext(in: directory)
                let reference = "\(registry.host)/multi/app:v1"
                let result = try Self.kiln(["build", context.path, "--platform", "linux/amd64,linux/arm64", "--progress", "plain",
                                            "--push", "-t", reference], in: directory)
                try #require(result.status == 0, "\(result.stderr)")
                let writes = Self.writes(registry)
                let manifests = writes.filter { $0.contains("/manifests/") }
                #expect(manifests.count == 3, "\(manifests)")
                #expect(manifests.prefix(2).allSatisfy { $0.contains("/manifests/sha256:") })
                #expect(writes.last?.contains("\"PUT /v2/multi/app/manifests/v1 ") == true, "\(writes)")
                let raw = try RegistryCommandTests.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
                let index = try #require(try JSONSerialization.jsonObject(with: raw.stdoutData) as? [String: Any])
                #expect(index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
                let children = try #require(index["manifests"] as? [[String: Any]])
                #expect(children.count == 2)
                // Both platforms' layers were committed before the first manifest: the second
                // platform's did not wait for the first platform's image to be pushed.
                let firstManifest = try #require(writes.firstIndex { $0.contains("/manifests/") })
                for child in children {
                    let digest = try #require(child["digest"] as? String)
                    let raw = try RegistryCommandTests.skopeo(["inspect", "--raw", "--tls-verify=false",
                                                               "docker://\(registry.host)/multi/app@\(digest)"])
                    let manifest = try #require(try JSONSerialization.jsonObject(with: raw.stdoutData) as? [String: Any])
                    for layer in try #require(manifest["layers"] as? [[String: Any]]) {
                        let layerDigest = try #require(layer["digest"] as? String)
                        let committed = try #require(Self.commit(of: layerDigest, in: writes), "\(writes)")
                        #expect(committed < firstManifest)
                    }
                }
            }
        }
    }
}
