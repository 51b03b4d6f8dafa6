import Foundation
import KilnDistribution
import KilnOCI
import KilnRegistry
import KilnTestSupport
import Testing

@Suite(
    "Registries over TLS with their own CA",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "openssl is not installed"))
struct TLSTests {
    /// A CA, and a server certificate it signed for 127.0.0.1, in `directory`.
    static func makeCertificates(in directory: URL, name: String) throws -> (ca: URL, tls: TestRegistry.TLS) {
        let path = { (file: String) in directory.appendingPathComponent("\(name)-\(file)").path }
        try Data("subjectAltName=IP:127.0.0.1\n".utf8).write(to: URL(fileURLWithPath: path("ext.cnf")))
        try ProcessRunner.checked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"),
                                              "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=kiln test CA \(name)"])
        try ProcessRunner.checked("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"),
                                              "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        try ProcessRunner.checked("openssl", ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"),
                                              "-CAkey", path("ca.key"), "-CAcreateserial", "-out", path("server.crt"),
                                              "-days", "2", "-extfile", path("ext.cnf")])
        return (URL(fileURLWithPath: path("ca.crt")),
                TestRegistry.TLS(certificate: URL(fileURLWithPath: path("server.crt")), key: URL(fileURLWithPath: path("server.key"))))
    }

    @Test("certs.d/<host>/ca.crt makes Kiln speak verified HTTPS to that host; another CA is refused")
    func certsDirectory() async throws {
        try await DistributionFixtures.withTemporaryDirectory { directory in
            let (ca, tls) = try Self.makeCertificates(in: directory, name: "good")
            let (otherCA, _) = try Self.makeCertificates(in: directory, name: "other")
            try await withTestRegistry(tls: tls) { registry in
                let image = try DistributionFixtures.busybox()
                let reference = try Reference(parsing: "\(registry.host)/secure/busybox:1")

                var options = DistributionFixtures.options(directory: directory)
                options.certificatesDirectory = directory.appendingPathComponent("certs.d")
                let hostDirectory = options.certificatesDirectory.appendingPathComponent(registry.host)
                try FileManager.default.createDirectory(at: hostDirectory, withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: ca, to: hostDirectory.appendingPathComponent("ca.crt"))
                let digest = try await ImagePusher(pool: try RegistryPool(options: options)).push(image, to: reference)
                let resolved = try await RegistryImageSource(options: options).resolve(reference, platform: .host)
                #expect(resolved.manifestDigest == digest)

                try FileManager.default.removeItem(at: hostDirectory.appendingPathComponent("ca.crt"))
                try FileManager.default.copyItem(at: otherCA, to: hostDirectory.appendingPathComponent("ca.crt"))
                options.clientConfiguration.retryPolicy = .none
                options.clientConfiguration.requestTimeout = .seconds(5)
                let error = await #expect(throws: RegistryError.self) {
                    try await RegistryImageSource(options: options).resolve(reference, platform: .host)
                }
                #expect(error?.description.contains(registry.host) == true)
            }
        }
    }
}
