import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// What Kiln writes, checked by Python's `jsonschema` against the upstream schemas: an oracle
/// independent of Kiln's own `validate()`.
@Suite struct SchemaValidatorTests {
    /// A document Kiln constructed, with the media type whose schema must accept it.
    struct Written: Sendable, CustomTestStringConvertible {
        var name: String
        var kind: OCIDocumentKind
        var bytes: Data
        var testDescription: String { name }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/validate_oci_schema.py")

    /// Runs the validator on `documents`; returns each document's verdict and errors by name.
    static func runValidator(_ documents: [Written]) throws -> [String: (valid: Bool, errors: [String])] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-oci-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments = [script.path, Conformance.url("oci-image-spec/schema").path]
        var names: [String: String] = [:]
        for (position, document) in documents.enumerated() {
            let file = directory.appendingPathComponent("\(position).json")
            try document.bytes.write(to: file)
            arguments.append("\(document.kind.rawValue)=\(file.path)")
            names[file.path] = document.name
        }
        let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments)
        try #require(result.status == 0, "validator failed to run: \(result.stderr)")
        struct Line: Decodable { var file: String; var valid: Bool; var errors: [String] }
        var verdicts: [String: (Bool, [String])] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parsed = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
            verdicts[names[parsed.file] ?? parsed.file] = (parsed.valid, parsed.errors)
        }
        try #require(verdicts.count == documents.count, "validator output: \(result.stdout)")
        return verdicts
    }

    @Test func pythonJSONSchemaIsInstalled() throws {
        let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import jsonschema"])
        #expect(result.status == 0, "python3 with jsonschema is required: \(result.stderr)")
    }

    @Test func everythingKilnWritesPassesTheSchemas() throws {
        let documents = try KilnWrittenDocuments.all()
        let verdicts = try Self.runValidator(documents)
        for document in documents {
            let verdict = try #require(verdicts[document.name])
            #expect(verdict.valid, "\(document.name): \(verdict.errors)")
            // Kiln's own reader must agree.
            #expect(throws: Never.self, "\(document.name)") { try document.kind.read(document.bytes) }
        }
    }

    /// The oracle must be able to say no, or the check above proves nothing.
    @Test func brokenDocumentsFailTheSchemas() throws {
        let documents = try KilnWrittenDocuments.broken()
        let verdicts = try Self.runValidator(documents)
        for document in documents {
            let verdict = try #require(verdicts[document.name])
            #expect(!verdict.valid, "\(document.name) should be rejected")
            #expect(throws: DocumentError.self, "\(document.name)") { try document.kind.read(document.bytes) }
        }
    }
}

/// Documents built with Kiln's types the way the builder and exporters build them.
enum KilnWrittenDocuments {
    typealias Written = SchemaValidatorTests.Written

    static func digest(_ text: String) -> Digest { Digest.sha256(of: Array(text.utf8)) }

    static func imageConfig() throws -> ImageConfig {
        let diffIDs = [digest("layer one"), digest("layer two")]
        return ImageConfig(
            platform: try Platform(parsing: "linux/arm64"),
            created: RFC3339.string(from: Date(timeIntervalSince1970: 1_700_000_000)),
            author: "Kiln <kiln@example.com>",
            config: ContainerConfig(
                user: "1000:1000", exposedPorts: ["8080/tcp", "53/udp"], env: ["PATH=/usr/bin:/bin", "EMPTY="],
                entrypoint: ["/bin/app"], cmd: ["--serve"], volumes: ["/data"], workingDir: "/srv",
                labels: ["org.example.team": "build"], stopSignal: "SIGTERM",
                healthcheck: Healthcheck(test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                                         interval: .seconds(30), timeout: .seconds(5), startPeriod: .milliseconds(1500),
                                         startInterval: .seconds(2), retries: 3),
                shell: ["/bin/bash", "-c"], onBuild: ["RUN echo child"]),
            rootfs: RootFS(diffIDs: diffIDs),
            history: [
                History(created: "2023-11-14T22:13:20Z", createdBy: "COPY app /bin/app # buildkit"),
                History(created: "2023-11-14T22:13:20Z", createdBy: "CMD [\"--serve\"]", comment: "kiln", emptyLayer: true),
                History(createdBy: "RUN make", author: "Kiln"),
            ])
    }

    static func manifest() throws -> Manifest {
        let config = try CanonicalJSON.descriptor(of: imageConfig(), mediaType: .ociConfig)
        let layers = [
            Descriptor(mediaType: .ociLayerGzip, digest: digest("gz"), size: 1234),
            Descriptor(mediaType: .ociLayerZstd, digest: digest("zst"), size: 99,
                       annotations: [AnnotationKey.title: "layer.tar.zst"]),
        ]
        return Manifest(config: config, layers: layers,
                        annotations: [AnnotationKey.created: "2023-11-14T22:13:20Z",
                                      AnnotationKey.source: "https://example.com/repo.git",
                                      AnnotationKey.baseImageName: "docker.io/library/alpine:3.20"])
    }

    static func all() throws -> [Written] {
        let manifestBlob = try CanonicalJSON.blob(manifest())
        let emptyBlob = EncodedBlob(bytes: Data("{}".utf8))
        let artifact = Manifest(
            config: emptyBlob.descriptor(mediaType: .ociEmpty),
            layers: [Descriptor(mediaType: "application/vnd.example.sbom.v1+json", digest: digest("sbom"), size: 10)],
            artifactType: "application/vnd.example.sbom.v1+json",
            subject: manifestBlob.descriptor(mediaType: .ociManifest))
        let amd64 = try manifestBlob.descriptor(mediaType: .ociManifest, platform: Platform(parsing: "linux/amd64"))
        let arm64 = try manifestBlob.descriptor(mediaType: .ociManifest, platform: Platform(parsing: "linux/aarch64"))
        let windows = manifestBlob.descriptor(
            mediaType: .ociManifest,
            platform: Platform(os: "windows", architecture: "amd64", osVersion: "10.0.17763.1234", osFeatures: ["win32k"]))
        let index = Index(manifests: [amd64, arm64, windows], annotations: [AnnotationKey.refName: "latest"])
        let layoutIndex = Index(manifests: [
            manifestBlob.descriptor(mediaType: .ociManifest, annotations: [AnnotationKey.refName: "v1.0"]),
        ])
        let embedded = Descriptor(mediaType: .ociEmpty, digest: emptyBlob.digest, size: emptyBlob.size,
                                  urls: ["https://mirror.example.com/blobs/sha256/44136fa3"], data: emptyBlob.bytes,
                                  artifactType: "application/vnd.example+type")
        return [
            Written(name: "image manifest", kind: .manifest, bytes: try CanonicalJSON.encode(manifest())),
            Written(name: "artifact manifest with subject", kind: .manifest, bytes: try CanonicalJSON.encode(artifact)),
            Written(name: "multi-platform index", kind: .index, bytes: try CanonicalJSON.encode(index)),
            Written(name: "oci layout index.json", kind: .index, bytes: try CanonicalJSON.encode(layoutIndex)),
            Written(name: "image config", kind: .config, bytes: try CanonicalJSON.encode(imageConfig())),
            Written(name: "minimal image config", kind: .config,
                    bytes: try CanonicalJSON.encode(ImageConfig(platform: Platform(os: "linux", architecture: "amd64")))),
            Written(name: "descriptor", kind: .descriptor,
                    bytes: try CanonicalJSON.encode(manifestBlob.descriptor(mediaType: .ociManifest))),
            Written(name: "descriptor with data, urls, artifactType", kind: .descriptor, bytes: try CanonicalJSON.encode(embedded)),
            Written(name: "oci-layout", kind: .layout, bytes: try CanonicalJSON.encode(ImageLayout())),
        ]
    }

    /// Documents Kiln's types can express but the spec forbids.
    static func broken() throws -> [Written] {
        var noLayers = try manifest()
        noLayers.layers = []
        var badMediaType = try manifest()
        badMediaType.layers[0].mediaType = "not-a-media-type"
        var negativeSize = Descriptor(mediaType: .ociLayer, digest: digest("x"), size: 1)
        negativeSize.size = -1
        let badURL = Descriptor(mediaType: .ociLayer, digest: digest("x"), size: 1, urls: ["not a uri"])
        var badRootFS = try imageConfig()
        badRootFS.rootfs.type = "tarballs"
        return [
            Written(name: "manifest without layers", kind: .manifest, bytes: try CanonicalJSON.encode(noLayers)),
            Written(name: "manifest with a bad layer media type", kind: .manifest, bytes: try CanonicalJSON.encode(badMediaType)),
            Written(name: "descriptor with negative size", kind: .descriptor, bytes: try CanonicalJSON.encode(negativeSize)),
            Written(name: "descriptor with a non-URI url", kind: .descriptor, bytes: try CanonicalJSON.encode(badURL)),
            Written(name: "config with rootfs type other than layers", kind: .config, bytes: try CanonicalJSON.encode(badRootFS)),
            Written(name: "oci-layout of an unknown version", kind: .layout,
                    bytes: try CanonicalJSON.encode(ImageLayout(imageLayoutVersion: "2.0.0"))),
        ]
    }
}
