import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite(
    "Bearer-token auth against a real registry",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: TestTokenServer.isAvailable, "python3 with the cryptography module is not installed"))
struct TokenAuthTests {
    static let credential = RegistryCredential(username: "builder", password: "hunter2")

    @Test("Credentials buy scoped tokens, fetched once per scope set and reused")
    func pushAndPullWithTokens() async throws {
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "refresh-1") { registry, server in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(
                    registry, credentials: StaticCredentials([registry.host: Self.credential]))
                let image = try await RegistryTestFixtures.pushImage(
                    client, repository: "team/app", tag: "v1", layer: Data(repeating: 1, count: 5000))
                let blob = try RegistryTestFixtures.randomBlob(size: 100_000, in: directory)
                try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "team/app")
                let fetched = try await client.fetchImageManifest(.tag("v1"), in: "team/app")
                #expect(fetched.manifest.digest == image.manifest.digest)
                #expect(try await client.blobSize(blob.digest, in: "team/app") == blob.size)
                #expect(try await client.mountBlob(blob.digest, from: "team/app", to: "team/other"))

                let requests = server.tokenRequests()
                #expect(requests.allSatisfy { $0.hasPrefix("GET builder ") })
                #expect(Set(requests).count == requests.count, "a scope set was fetched twice: \(requests)")
                #expect(requests.contains("GET builder repository:team/app:pull"))
                #expect(requests.contains("GET builder repository:team/app:pull,push"))
                #expect(requests.contains("GET builder repository:team/other:pull,push repository:team/app:pull"))
            }
        }
    }

    @Test("A token that has (nearly) expired is not reused")
    func expiredTokensRefetched() async throws {
        // Ten seconds of lifetime is all the client's safety margin, so every token is stale at once.
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "r", tokenLifetime: 10) { registry, server in
            let client = RegistryTestFixtures.client(registry, credentials: StaticCredentials([registry.host: Self.credential]))
            let digest = Digest.sha256(of: Data("absent".utf8))
            for _ in 0..<3 {
                let exists = try await client.blobExists(digest, in: "team/app")
                #expect(!exists)
            }
            #expect(server.tokenRequests() == Array(repeating: "GET builder repository:team/app:pull", count: 3))
        }
    }

    @Test("A token service answering 503 is retried")
    func tokenServiceErrorsRetried() async throws {
        try await withTokenServer(username: "builder", password: "hunter2", refreshToken: "r") { server in
            try await withFaultProxy(upstreamPort: server.port, faults: .init(serverErrors: 2)) { proxy in
                try await withTestRegistry(auth: server.registryAuth(realm: "http://\(proxy.host)/token")) { registry in
                    let client = RegistryTestFixtures.client(registry, credentials: StaticCredentials([registry.host: Self.credential]))
                    let blob = try await client.pushBlob(data: Data("through a flaky token service".utf8), to: "team/app")
                    #expect(try await client.blobSize(blob.digest, in: "team/app") == blob.size)
                    #expect(proxy.requests().filter { $0.hasPrefix("GET /token?") && $0.hasSuffix(" 503") }.count == 2)
                    #expect(server.tokenRequests().first == "GET builder repository:team/app:pull")
                }
            }
        }
    }

    @Test("Anonymous clients get pull tokens only; a push is a clear unauthorized error")
    func anonymousCannotPush() async throws {
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "refresh-1") { registry, server in
            let writer = RegistryTestFixtures.client(registry, credentials: StaticCredentials([registry.host: Self.credential]))
            let image = try await RegistryTestFixtures.pushImage(
                writer, repository: "public/app", tag: "v1", layer: Data(repeating: 2, count: 100))

            let anonymous = RegistryTestFixtures.client(registry)
            let pulled = try await anonymous.fetchManifest(.tag("v1"), in: "public/app")
            #expect(pulled.digest == image.manifest.digest)
            let error = await #expect(throws: RegistryError.self) {
                try await anonymous.pushBlob(data: Data("new".utf8), to: "public/app")
            }
            #expect(error?.kind == .unauthorized)
            #expect(error?.operation == .pushBlob)
            #expect(error?.details.first?.code == "UNAUTHORIZED")
            #expect(server.tokenRequests().contains("GET anonymous repository:public/app:pull"))
        }
    }

    @Test("Wrong credentials fail at the token service with its error")
    func wrongPassword() async throws {
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "refresh-1") { registry, _ in
            let client = RegistryTestFixtures.client(
                registry, credentials: StaticCredentials([registry.host: RegistryCredential(username: "builder", password: "nope")]))
            let error = await #expect(throws: RegistryError.self) {
                try await client.fetchManifest(.tag("v1"), in: "team/app")
            }
            #expect(error?.kind == .unauthorized)
            #expect(error?.operation == .authenticate)
            #expect(error?.details.first?.message == "bad credentials")
        }
    }

    @Test("An identity token is exchanged through the OAuth2 refresh-token grant")
    func identityToken() async throws {
        try await withTokenAuthRegistry(username: "builder", password: "hunter2", refreshToken: "refresh-1") { registry, server in
            let client = RegistryTestFixtures.client(
                registry, credentials: StaticCredentials([registry.host: RegistryCredential(identityToken: "refresh-1")]))
            let blob = try await client.pushBlob(data: Data("layer".utf8), to: "team/oauth")
            #expect(try await client.blobExists(blob.digest, in: "team/oauth"))
            #expect(server.tokenRequests().allSatisfy { $0.hasPrefix("POST refresh ") })
        }
    }
}
