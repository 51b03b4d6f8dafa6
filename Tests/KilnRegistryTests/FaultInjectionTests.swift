import AsyncHTTPClient
import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite(
    "Retries and resumption through a fault-injecting proxy",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: TestRegistryFaultProxy.isAvailable, "python3 is not installed"))
struct FaultInjectionTests {
    @Test("A blob download cut halfway resumes with Range and still verifies")
    func downloadResumes() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let blob = try RegistryTestFixtures.randomBlob(size: 3 << 20, in: directory)
                try await RegistryTestFixtures.client(registry)
                    .pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/resume")
                try await withFaultProxy(for: registry, faults: .init(dropBlobGets: 2)) { proxy in
                    let client = RegistryTestFixtures.client(host: proxy.host)
                    let copy = directory.appendingPathComponent("copy")
                    let count = try await client.fetchBlob(blob.digest, size: blob.size, from: "kiln/resume", to: copy)
                    #expect(count == blob.size)
                    #expect(try Data(contentsOf: copy) == Data(contentsOf: blob.url))
                    let gets = proxy.requests().filter { $0.hasPrefix("GET /v2/kiln/resume/blobs/") }
                    #expect(gets.count == 3)
                    #expect(gets.first?.hasSuffix("range=-") == true)
                    // Each resumption asks for the rest from where the last one broke.
                    #expect(gets.dropFirst().allSatisfy { $0.contains(" 206 ") && $0.contains("range=bytes=") })
                }
            }
        }
    }

    @Test("503s with Retry-After are retried; too many become an error with the status")
    func serverErrorsRetried() async throws {
        try await withTestRegistry { registry in
            let image = try await RegistryTestFixtures.pushImage(
                RegistryTestFixtures.client(registry), repository: "kiln/flaky", tag: "v1", layer: Data(repeating: 1, count: 10))
            try await withFaultProxy(for: registry, faults: .init(serverErrors: 2)) { proxy in
                let client = RegistryTestFixtures.client(host: proxy.host)
                let fetched = try await client.fetchManifest(.tag("v1"), in: "kiln/flaky")
                #expect(fetched.digest == image.manifest.digest)
                #expect(proxy.requests().filter { $0.hasSuffix(" 503") }.count == 2)
            }
            try await withFaultProxy(for: registry, faults: .init(serverErrors: 100)) { proxy in
                let client = RegistryTestFixtures.client(host: proxy.host)
                let error = await #expect(throws: RegistryError.self) {
                    try await client.fetchManifest(.tag("v1"), in: "kiln/flaky")
                }
                #expect(error?.status == 503)
                #expect(error?.operation == .fetchManifest)
                #expect(proxy.requests().count == RegistryTestFixtures.fastRetries.maximumAttempts)
            }
        }
    }

    @Test("A chunked upload whose PATCH breaks asks the session how far it got and finishes")
    func uploadResumes() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let blob = try RegistryTestFixtures.randomBlob(size: 3 << 20 | 999, in: directory)
                try await withFaultProxy(for: registry, faults: .init(dropPatches: 1)) { proxy in
                    let client = RegistryTestFixtures.client(host: proxy.host, monolithicLimit: 1 << 20, chunkSize: 1 << 20)
                    let result = try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/upload")
                    #expect(result == .uploaded)
                    let requests = proxy.requests()
                    #expect(requests.contains { $0.hasPrefix("PATCH ") && $0.contains("dropped-request") })
                    #expect(requests.contains { $0.hasPrefix("GET /v2/kiln/upload/blobs/uploads/") })
                }
                let direct = RegistryTestFixtures.client(registry)
                #expect(try await direct.blobSize(blob.digest, in: "kiln/upload") == blob.size)
                let data = try await direct.fetchBlobData(blob.digest, size: blob.size, from: "kiln/upload", limit: 8 << 20)
                #expect(data == (try Data(contentsOf: blob.url)))
            }
        }
    }

    @Test("A request that gets no answer times out and is retried")
    func stalledRequestTimesOut() async throws {
        try await withTestRegistry { registry in
            let image = try await RegistryTestFixtures.pushImage(
                RegistryTestFixtures.client(registry), repository: "kiln/slow", tag: "v1", layer: Data(repeating: 1, count: 10))
            try await withFaultProxy(for: registry, faults: .init(stalls: 1)) { proxy in
                let client = RegistryTestFixtures.client(host: proxy.host, requestTimeout: .milliseconds(500))
                let fetched = try await client.fetchManifest(.tag("v1"), in: "kiln/slow")
                #expect(fetched.digest == image.manifest.digest)
                #expect(proxy.requests().filter { $0.hasSuffix(" stalled") }.count == 1)
            }
        }
    }

    @Test("Blob downloads follow redirects to storage, without the registry's credentials")
    func redirectsFollowed() async throws {
        try await withTestRegistry { registry in
            let blob = try await RegistryTestFixtures.client(registry).pushBlob(data: Data(repeating: 4, count: 70_000), to: "kiln/moved")
            try await withFaultProxy(for: registry, faults: .init(redirectBlobGets: true)) { proxy in
                let client = RegistryTestFixtures.client(
                    host: proxy.host, credentials: StaticCredentials([proxy.host: RegistryCredential(username: "u", password: "p")]))
                let data = try await client.fetchBlobData(blob.digest, size: blob.size, from: "kiln/moved")
                #expect(data == Data(repeating: 4, count: 70_000))
                let requests = proxy.requests()
                #expect(requests.contains { $0.hasPrefix("GET /v2/kiln/moved/blobs/") && $0.hasSuffix(" 307") })
                #expect(requests.filter { $0.hasPrefix("GET /storage/v2/kiln/moved/blobs/") } .map { $0.hasSuffix("storage auth=no") } == [true])
                #expect(registry.requestCount("GET", path: "/v2/kiln/moved/blobs/") == 1)
            }
        }
    }

    @Test("A mount the registry refuses outright (403) is an error alone, and no shortcut for a push")
    func deniedMountFallsBack() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let blob = try RegistryTestFixtures.randomBlob(size: 20_000, in: directory)
                try await withFaultProxy(for: registry, faults: .init(denyMounts: true)) { proxy in
                    let client = RegistryTestFixtures.client(host: proxy.host)
                    try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/source")
                    let error = await #expect(throws: RegistryError.self) {
                        try await client.mountBlob(blob.digest, from: "kiln/source", to: "kiln/target")
                    }
                    #expect(error?.kind == .denied)
                    #expect(error?.details.first?.code == "DENIED")
                    let result = try await client.pushBlob(
                        file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/target", mountSources: ["kiln/source"])
                    #expect(result == .uploaded)
                    #expect(try await client.blobSize(blob.digest, in: "kiln/target") == blob.size)
                }
            }
        }
    }

    @Test("A refused connection is retried, then reported as a transport error naming the registry")
    func connectionRefused() async throws {
        let port = try TestRegistry.freePort()
        // AHC keeps reconnecting until its connect timeout: keep that short so the test is quick.
        var configuration = RegistryClient.defaultHTTPConfiguration
        configuration.timeout.connect = .milliseconds(200)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = RegistryClient(
            registry: "127.0.0.1:\(port)", configuration: .init(retryPolicy: RegistryTestFixtures.fastRetries),
            httpClient: httpClient)
        let error = await #expect(throws: RegistryError.self) { try await client.ping() }
        try await httpClient.shutdown()
        guard case .transport? = error?.kind else {
            Issue.record("expected a transport error, got \(String(describing: error))")
            return
        }
        #expect(error?.registry == "127.0.0.1:\(port)")
        #expect(error?.operation == .ping)
    }

    @Test("A client can own its HTTPClient and shut it down")
    func ownHTTPClient() async throws {
        try await withTestRegistry { registry in
            let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: RegistryClient.defaultHTTPConfiguration)
            do {
                let client = RegistryClient(registry: registry.host, httpClient: httpClient)
                try await client.ping()
                let blob = try await client.pushBlob(data: Data("owned".utf8), to: "kiln/owned")
                #expect(try await client.blobExists(blob.digest, in: "kiln/owned"))
            } catch {
                try await httpClient.shutdown()
                throw error
            }
            try await httpClient.shutdown()
        }
    }
}
