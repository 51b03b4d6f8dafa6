import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport

/// Shared set-up of the registry tests: clients tuned for a loopback registry, random blob files.
enum RegistryTestFixtures {
    /// Quick retries so that tests of failure paths do not wait for production back-off.
    static let fastRetries = RetryPolicy(maximumAttempts: 4, initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200))

    /// A client for `registry` with quick retries; pass small limits so multi-MB files exercise chunking.
    static func client(
        _ registry: TestRegistry, credentials: (any CredentialProvider)? = nil, monolithicLimit: Int64 = 16 << 20,
        chunkSize: Int64 = 16 << 20
    ) -> RegistryClient {
        client(host: registry.host, credentials: credentials, monolithicLimit: monolithicLimit, chunkSize: chunkSize)
    }

    /// A client for the registry (or proxy) at `host` with quick retries.
    static func client(
        host: String, credentials: (any CredentialProvider)? = nil, requestTimeout: Duration = .seconds(60),
        monolithicLimit: Int64 = 16 << 20, chunkSize: Int64 = 16 << 20
    ) -> RegistryClient {
        RegistryClient(
            registry: host, credentials: credentials,
            configuration: .init(
                retryPolicy: fastRetries, requestTimeout: requestTimeout, monolithicUploadLimit: monolithicLimit,
                uploadChunkSize: chunkSize))
    }

    /// A fresh temporary folder; remove it with `FileManager.removeItem`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-registry-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `body` with a fresh temporary folder and removes it afterwards.
    static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// Writes `size` random bytes to `directory/name`; returns the file, its digest and size.
    static func randomBlob(size: Int, in directory: URL, name: String = "blob") throws -> (url: URL, digest: Digest, size: Int64) {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            let value = generator.next() as UInt64
            for shift in 0..<min(8, size - index) { bytes[index + shift] = UInt8(truncatingIfNeeded: value >> (shift * 8)) }
        }
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return (url, Digest.sha256(of: bytes), Int64(size))
    }

    /// Where the registry's filesystem driver keeps the bytes of blob `digest`.
    static func storedBlobData(_ registry: TestRegistry, _ digest: Digest) -> URL {
        registry.directory.appendingPathComponent(
            "storage/docker/registry/v2/blobs/\(digest.algorithm)/\(digest.encoded.prefix(2))/\(digest.encoded)/data")
    }

    /// Pushes a config and a layer blob to `repository`, for tests that assemble their own manifest.
    static func pushBlobs(
        _ client: RegistryClient, repository: String, config: Data = Data("{}".utf8), layer: Data
    ) async throws -> (config: EncodedBlob, layer: EncodedBlob) {
        let configBlob = try await client.pushBlob(data: config, to: repository)
        let layerBlob = try await client.pushBlob(data: layer, to: repository)
        return (configBlob, layerBlob)
    }

    /// Pushes a one-layer image (config, layer, manifest tagged `tag`) and returns its manifest's descriptor.
    @discardableResult
    static func pushImage(
        _ client: RegistryClient, repository: String, tag: String, layer: Data, platform: Platform = .host
    ) async throws -> (manifest: Descriptor, config: EncodedBlob, layer: EncodedBlob) {
        let configBytes = try CanonicalJSON.encode(ImageConfig(platform: platform, rootfs: RootFS(diffIDs: [Digest.sha256(of: layer)])))
        let (config, layerBlob) = try await pushBlobs(client, repository: repository, config: configBytes, layer: layer)
        let manifest = Manifest(
            config: config.descriptor(mediaType: .ociConfig), layers: [layerBlob.descriptor(mediaType: .ociLayer)])
        let descriptor = try await client.pushManifest(manifest, to: .tag(tag), in: repository)
        return (descriptor, config, layerBlob)
    }
}
