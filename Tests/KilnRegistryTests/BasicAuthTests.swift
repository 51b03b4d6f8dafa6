import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite("Basic auth against a real registry", .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct BasicAuthTests {
    static let auth = TestRegistry.Auth.basic(username: "kiln", password: "s3cret")

    @Test("Without credentials the registry's 401 becomes a clear unauthorized error")
    func anonymousIsRejected() async throws {
        try await withTestRegistry(auth: Self.auth) { registry in
            let client = RegistryTestFixtures.client(registry)
            let error = await #expect(throws: RegistryError.self) {
                try await client.fetchManifest(.tag("latest"), in: "kiln/private")
            }
            #expect(error?.kind == .unauthorized)
            #expect(error?.status == 401)
            #expect(error?.registry == registry.host)
            #expect(error?.repository == "kiln/private")
            #expect(error?.description.contains("\(registry.host)/kiln/private: fetch manifest failed: authentication required") == true)
            #expect(error?.details.map(\.code) == ["UNAUTHORIZED"])
        }
    }

    @Test("With credentials pushes and pulls work; the first 401 teaches the client the scheme")
    func credentialsWork() async throws {
        try await withTestRegistry(auth: Self.auth) { registry in
            let credentials = StaticCredentials([registry.host: RegistryCredential(username: "kiln", password: "s3cret")])
            let client = RegistryTestFixtures.client(registry, credentials: credentials)
            try await client.ping()
            let image = try await RegistryTestFixtures.pushImage(
                client, repository: "kiln/private", tag: "v1", layer: Data(repeating: 9, count: 2048))
            let fetched = try await client.fetchImageManifest(.tag("v1"), in: "kiln/private")
            #expect(fetched.manifest.digest == image.manifest.digest)
            let layer = try await client.fetchBlobData(image.layer.digest, size: image.layer.size, from: "kiln/private")
            #expect(layer == Data(repeating: 9, count: 2048))
            // Only Kiln's ping met a 401 (the fixture's readiness probe is not Kiln): every later request
            // carried the credentials from the start.
            let rejected = registry.log().split(separator: "\n").filter { $0.contains("\" 401 ") && $0.hasSuffix("\"kiln\"") }
            #expect(rejected.count == 1, "\(rejected)")
        }
    }

    @Test("A wrong password is unauthorized, not retried forever")
    func wrongPassword() async throws {
        try await withTestRegistry(auth: Self.auth) { registry in
            let credentials = StaticCredentials([registry.host: RegistryCredential(username: "kiln", password: "wrong")])
            let client = RegistryTestFixtures.client(registry, credentials: credentials)
            let error = await #expect(throws: RegistryError.self) {
                try await client.blobExists(Digest.sha256(of: Data()), in: "kiln/private")
            }
            #expect(error?.kind == .unauthorized)
            #expect(error?.operation == .blobExists)
            #expect(registry.requestCount("HEAD", path: "/blobs/") == 2)
        }
    }

    @Test("Credentials come from a Docker config.json in DOCKER_CONFIG")
    func dockerConfigCredentials() async throws {
        try await withTestRegistry(auth: Self.auth) { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let auth = Data("kiln:s3cret".utf8).base64EncodedString()
                let json = #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#
                try Data(json.utf8).write(to: directory.appendingPathComponent("config.json"))
                let config = try DockerConfig.load(environment: ["DOCKER_CONFIG": directory.path, "PATH": "/usr/bin:/bin"])
                let client = RegistryTestFixtures.client(registry, credentials: config)
                let blob = try await client.pushBlob(data: Data("layer".utf8), to: "kiln/configured")
                #expect(try await client.blobSize(blob.digest, in: "kiln/configured") == 5)
            }
        }
    }
}
