import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite("Manifests and tags against a real registry", .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct ManifestTests {
    @Test("A pushed manifest reads back by tag and by digest with its media type and digest")
    func roundTrip() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let image = try await RegistryTestFixtures.pushImage(
                client, repository: "kiln/app", tag: "v1", layer: Data(repeating: 1, count: 4096))

            let byTag = try await client.fetchManifest(.tag("v1"), in: "kiln/app")
            #expect(byTag.mediaType == .ociManifest)
            #expect(byTag.digest == image.manifest.digest)
            #expect(byTag.descriptor == image.manifest)
            let manifest = try byTag.manifest()
            #expect(manifest.config.digest == image.config.digest)
            #expect(manifest.layers.map(\.digest) == [image.layer.digest])

            let byDigest = try await client.fetchManifest(.digest(image.manifest.digest), in: "kiln/app")
            #expect(byDigest.bytes == byTag.bytes)

            #expect(try await client.manifestDescriptor(.tag("v1"), in: "kiln/app") == image.manifest)
            #expect(try await client.manifestDescriptor(.tag("missing"), in: "kiln/app") == nil)
            #expect(registry.requestCount("HEAD", path: "/manifests/v1") == 1)
        }
    }

    @Test("Docker schema 2 manifests keep their media type")
    func dockerMediaType() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let (config, layer) = try await RegistryTestFixtures.pushBlobs(
                client, repository: "kiln/docker", config: Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8),
                layer: Data(repeating: 2, count: 100))
            let manifest = Manifest(
                mediaType: .dockerManifest, config: config.descriptor(mediaType: .dockerConfig),
                layers: [layer.descriptor(mediaType: .dockerLayerGzip)])
            let pushed = try await client.pushManifest(manifest, to: .tag("latest"), in: "kiln/docker")
            let fetched = try await client.fetchManifest(.tag("latest"), in: "kiln/docker")
            #expect(fetched.mediaType == .dockerManifest)
            #expect(fetched.digest == pushed.digest)
        }
    }

    @Test("An index resolves to the host platform's manifest")
    func indexToPlatform() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let other = Platform(os: "linux", architecture: Platform.host.architecture == "arm64" ? "amd64" : "arm64")
            let hostImage = try await RegistryTestFixtures.pushImage(
                client, repository: "kiln/multi", tag: "host", layer: Data(repeating: 3, count: 64))
            let otherImage = try await RegistryTestFixtures.pushImage(
                client, repository: "kiln/multi", tag: "other", layer: Data(repeating: 4, count: 64), platform: other)
            var otherDescriptor = otherImage.manifest
            otherDescriptor.platform = other
            var hostDescriptor = hostImage.manifest
            hostDescriptor.platform = Platform.host
            let index = Index(manifests: [otherDescriptor, hostDescriptor])
            let indexBlob = try CanonicalJSON.blob(index)
            try await client.pushManifest(indexBlob.bytes, mediaType: .ociIndex, to: .tag("latest"), in: "kiln/multi")

            let resolved = try await client.fetchImageManifest(.tag("latest"), in: "kiln/multi")
            #expect(resolved.index?.digest == indexBlob.digest)
            #expect(resolved.index?.mediaType == .ociIndex)
            #expect(resolved.manifest.digest == hostImage.manifest.digest)

            let chosen = try await client.fetchImageManifest(.tag("latest"), in: "kiln/multi", platform: other)
            #expect(chosen.manifest.digest == otherImage.manifest.digest)

            let missing = Platform(os: "linux", architecture: "s390x")
            await #expect(throws: RegistryError.self) {
                try await client.fetchImageManifest(.tag("latest"), in: "kiln/multi", platform: missing)
            }
        }
    }

    @Test("A manifest pushed by digest is addressable by it and gets no tag")
    func pushByDigest() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let (config, layer) = try await RegistryTestFixtures.pushBlobs(client, repository: "kiln/pin", layer: Data(repeating: 5, count: 10))
            let manifest = Manifest(config: config.descriptor(mediaType: .ociConfig), layers: [layer.descriptor(mediaType: .ociLayer)])
            let bytes = try CanonicalJSON.encode(manifest)
            let digest = try await client.pushManifest(bytes, mediaType: .ociManifest, to: .digest(Digest.sha256(of: bytes)), in: "kiln/pin")
            #expect(digest == Digest.sha256(of: bytes))
            #expect(try await client.fetchManifest(.digest(digest), in: "kiln/pin").bytes == bytes)
            let error = await #expect(throws: RegistryError.self) { try await client.listTags(in: "kiln/pin") }
            #expect(error?.kind == .notFound)
        }
    }

    @Test("Tag listing returns every tag, and follows Link pagination where the registry pages")
    func tagPagination() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            try await RegistryTestFixtures.pushImage(client, repository: "kiln/tags", tag: "a", layer: Data(repeating: 6, count: 10))
            let bytes = try await client.fetchManifest(.tag("a"), in: "kiln/tags").bytes
            for tag in ["b", "c", "d", "e"] {
                try await client.pushManifest(bytes, mediaType: .ociManifest, to: .tag(tag), in: "kiln/tags")
            }
            #expect(try await client.listTags(in: "kiln/tags").sorted() == ["a", "b", "c", "d", "e"])

            try await withFaultProxy(for: registry, faults: .init(paginateTags: true)) { proxy in
                let paged = RegistryTestFixtures.client(host: proxy.host)
                let tags = try await paged.listTags(in: "kiln/tags", pageSize: 2)
                #expect(tags == ["a", "b", "c", "d", "e"])
                #expect(proxy.requests().filter { $0.hasPrefix("GET /v2/kiln/tags/tags/list") }.count == 3)
            }
        }
    }

    @Test("Deleting a manifest makes it unknown, with the registry's code in the error")
    func deleteManifest() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let image = try await RegistryTestFixtures.pushImage(
                client, repository: "kiln/gone", tag: "v1", layer: Data(repeating: 8, count: 10))
            try await client.deleteManifest(image.manifest.digest, in: "kiln/gone")
            #expect(try await client.manifestDescriptor(.digest(image.manifest.digest), in: "kiln/gone") == nil)
            let error = await #expect(throws: RegistryError.self) {
                try await client.fetchManifest(.tag("v1"), in: "kiln/gone")
            }
            #expect(error?.kind == .notFound)
            #expect(error?.status == 404)
            #expect(error?.details.first?.code == "MANIFEST_UNKNOWN")
            #expect(error?.description.contains("\(registry.host)/kiln/gone: fetch manifest failed: not found (HTTP 404)") == true)
        }
    }

    @Test("Manifest bytes that do not match the digest asked for (or the registry's header) are rejected")
    func manifestDigestVerified() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let (config, layer) = try await RegistryTestFixtures.pushBlobs(client, repository: "kiln/tampered", layer: Data(repeating: 1, count: 10))
            let manifest = Manifest(
                config: config.descriptor(mediaType: .ociConfig), layers: [layer.descriptor(mediaType: .ociLayer)],
                annotations: ["note": "original"])
            let pushed = try await client.pushManifest(manifest, to: .tag("v1"), in: "kiln/tampered")
            // The registry stores manifests as blobs and serves them without re-hashing.
            let stored = RegistryTestFixtures.storedBlobData(registry, pushed.digest)
            let tampered = Data(try String(contentsOf: stored, encoding: .utf8).replacingOccurrences(of: "original", with: "modified").utf8)
            try tampered.write(to: stored)

            for reference in [ManifestReference.digest(pushed.digest), .tag("v1")] {
                let error = await #expect(throws: RegistryError.self) {
                    try await client.fetchManifest(reference, in: "kiln/tampered")
                }
                #expect(error?.kind == .digestMismatch(expected: pushed.digest, actual: Digest.sha256(of: tampered)))
            }
        }
    }

    @Test("A manifest whose blobs are missing is refused with MANIFEST_BLOB_UNKNOWN")
    func missingBlobs() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let absent = EncodedBlob(bytes: Data("not pushed".utf8))
            let manifest = Manifest(
                config: absent.descriptor(mediaType: .ociConfig), layers: [absent.descriptor(mediaType: .ociLayer)])
            let error = await #expect(throws: RegistryError.self) {
                try await client.pushManifest(manifest, to: .tag("broken"), in: "kiln/broken")
            }
            #expect(error?.status == 400)
            #expect(error?.details.contains { $0.code == "MANIFEST_BLOB_UNKNOWN" } == true)
            #expect(error?.operation == .pushManifest)
        }
    }
}
