import Foundation
import KilnDistribution
import KilnImage
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnTestSupport

/// Shared set-up of the distribution tests: options tuned for loopback registries, the busybox
/// image, temporary folders and skopeo.
enum DistributionFixtures {
    /// Quick retries so that failure paths do not wait for production back-off.
    static let fastRetries = RetryPolicy(maximumAttempts: 5, initialDelay: .milliseconds(20), maximumDelay: .seconds(2))

    /// Options with quick retries, small upload chunks (so the busybox layer goes up in several
    /// `PATCH`es) and an empty Docker config directory.
    static func options(
        directory: URL, credentials: RegistryCredential? = nil, mirrors: [String: [RegistryMirror]] = [:],
        requestTimeout: Duration = .seconds(60), chunkSize: Int64 = 256 << 10, retries: RetryPolicy = fastRetries
    ) -> RegistryOptions {
        RegistryOptions(
            mirrors: mirrors, credentialsOverride: credentials, dockerConfigDirectory: directory.appendingPathComponent("docker"),
            clientConfiguration: .init(retryPolicy: retries, requestTimeout: requestTimeout, monolithicUploadLimit: chunkSize,
                                       uploadChunkSize: chunkSize))
    }

    /// The busybox base image as an ``Image``.
    static func busybox() throws -> LayoutImage {
        let base = try BaseImages.busybox()
        return try OCILayout(at: base.layout).image(reference: base.refName)
    }

    /// Runs `body` with a fresh temporary folder and removes it afterwards.
    static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-dist-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// A content store in `directory`.
    static func store(in directory: URL) -> ContentStore {
        ContentStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
    }

    /// Whether skopeo is installed.
    static let hasSkopeo = FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo")

    /// Runs skopeo against loopback registries (no TLS, no signature policy) and returns its stdout.
    @discardableResult
    static func skopeo(_ arguments: [String]) throws -> KilnBinary.Result {
        try ProcessRunner.checked("skopeo", ["--insecure-policy"] + arguments)
    }

    /// `skopeo copy` of the busybox layout to `destination` (a `host/repo:tag` reference).
    static func skopeoPushBusybox(to destination: String) throws {
        let base = try BaseImages.busybox()
        try skopeo(["copy", "--dest-tls-verify=false", base.ociReference, "docker://\(destination)"])
    }

    /// The manifest digest and layer digests skopeo reads for `reference`.
    static func skopeoInspect(_ reference: String, credentials: String? = nil) throws -> (digest: String, layers: [String]) {
        struct Inspection: Decodable {
            var Digest: String
            var Layers: [String]
        }
        var arguments = ["inspect", "--tls-verify=false"]
        if let credentials { arguments += ["--creds", credentials] }
        let result = try skopeo(arguments + ["docker://\(reference)"])
        let inspection = try JSONDecoder().decode(Inspection.self, from: result.stdoutData)
        return (inspection.Digest, inspection.Layers)
    }

    /// Every blob a manifest needs, config included.
    static func blobs(of image: ResolvedImage) -> [Descriptor] {
        [image.manifest.config] + image.manifest.layers
    }
}
