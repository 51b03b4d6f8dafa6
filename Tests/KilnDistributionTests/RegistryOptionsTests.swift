import Foundation
import KilnDistribution
import KilnOCI
import Testing

@Suite("Registry options and their files")
struct RegistryOptionsTests {
    @Test("Mirror specs split into host and path prefix")
    func mirrorParsing() throws {
        let mirror = try RegistryMirror(parsing: "localhost:5000/mirror/hub")
        #expect(mirror.host == "localhost:5000")
        #expect(mirror.repository(for: "library/busybox") == "mirror/hub/library/busybox")
        #expect(try RegistryMirror(parsing: "mirror.example").repository(for: "a/b") == "a/b")
        #expect(throws: RegistryOptionsError.self) { try RegistryMirror(parsing: "https://mirror.example") }
    }

    @Test("registries.json and registries.conf mirrors, insecure hosts; Kiln's file wins per registry")
    func loadFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-options-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("registries.conf")
        try """
        unqualified-search-registries = ["docker.io"]

        [[registry]]
        prefix = "docker.io"
        location = "docker.io"

        [[registry.mirror]]
        location = "mirror.corp:5000/hub" # the pull-through cache
        insecure = true

        [[registry.mirror]]
        location = "backup.corp"

        [[registry]]
        location = "quay.io"
        [[registry.mirror]]
        location = "quay-mirror.corp"

        [[registry]]
        location = "old.corp:5000"
        insecure = true
        """.write(to: conf, atomically: true, encoding: .utf8)
        let json = directory.appendingPathComponent("kiln/registries.json")
        try FileManager.default.createDirectory(at: json.deletingLastPathComponent(), withIntermediateDirectories: true)
        try #"{"insecureRegistries": ["dev.corp:5000"], "mirrors": {"quay.io": ["kiln-mirror.corp/quay"]}, "caFiles": ["/etc/ca.pem"]}"#
            .write(to: json, atomically: true, encoding: .utf8)

        let options = try RegistryOptions.load(containersFile: conf, environment: ["XDG_CONFIG_HOME": directory.path])
        #expect(options.mirrors(of: "docker.io").map(\.description) == ["mirror.corp:5000/hub", "backup.corp"])
        #expect(options.mirrors(of: "quay.io").map(\.description) == ["kiln-mirror.corp/quay"])
        #expect(options.mirrors(of: "ghcr.io").isEmpty)
        #expect(options.insecureRegistries == ["mirror.corp:5000", "old.corp:5000", "dev.corp:5000"])
        #expect(options.allowsPlainHTTP("localhost:5000"))
        #expect(!options.allowsPlainHTTP("docker.io"))
        #expect(options.caFiles == [URL(fileURLWithPath: "/etc/ca.pem")])
    }

    @Test("A broken registries.json is an error naming the file")
    func brokenFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-registries-\(UUID().uuidString).json")
        try Data("{\"mirrors\": 3}".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let error = #expect(throws: RegistryOptionsError.self) {
            try RegistryOptions.load(configurationFile: file, containersFile: nil)
        }
        #expect(error?.description.contains(file.path) == true)
    }

    @Test("Per-host CA files come from the certs.d directory")
    func certificates() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("reg.corp:443"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("pem".utf8).write(to: directory.appendingPathComponent("reg.corp:443/ca.crt"))
        let options = RegistryOptions(caFiles: [URL(fileURLWithPath: "/flag.pem")], certificatesDirectory: directory)
        #expect(options.caFiles(for: "reg.corp:443").map(\.lastPathComponent) == ["flag.pem", "ca.crt"])
        #expect(options.caFiles(for: "other.corp").map(\.lastPathComponent) == ["flag.pem"])
    }
}
