import Foundation
import KilnTestSupport
import Testing

/// `kiln pull`, `push`, `copy`, `inspect`, `login` and `logout` run as a user would, against
/// real registries, their results read by skopeo.
@Suite(
    "Registry commands",
    .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "skopeo is not installed"))
struct RegistryCommandTests {
    /// Runs kiln with its own KILN_ROOT and Docker config under `directory`, expecting success.
    @discardableResult
    static func kiln(_ arguments: [String], in directory: URL, stdin: Data? = nil) throws -> KilnBinary.Result {
        let result = try KilnBinary.run(arguments, stdin: stdin, environment: environment(directory))
        #expect(result.status == 0, "kiln \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    static func environment(_ directory: URL) -> [String: String] {
        ["KILN_ROOT": directory.appendingPathComponent("kiln-root").path,
         "DOCKER_CONFIG": directory.appendingPathComponent("docker").path,
         "XDG_CONFIG_HOME": directory.appendingPathComponent("xdg").path]
    }

    static func withDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    static func skopeo(_ arguments: [String]) throws -> KilnBinary.Result {
        try ProcessRunner.checked("skopeo", ["--insecure-policy"] + arguments)
    }

    static func skopeoDigest(_ image: String) throws -> String {
        struct Inspection: Decodable { var Digest: String }
        return try JSONDecoder().decode(Inspection.self, from: skopeo(["inspect", "--tls-verify=false", image]).stdoutData).Digest
    }

    @Test("kiln pull of a skopeo push: the rootfs equals the source tree, the layout reads back in skopeo")
    func pullRootfsAndLayout() async throws {
        try await withTestRegistry { registry in
            try await Self.withDirectory { directory in
                let base = try BaseImages.busybox()
                _ = try Self.skopeo(["copy", "--dest-tls-verify=false", base.ociReference, "docker://\(registry.host)/base/busybox:1"])
                let reference = "\(registry.host)/base/busybox:1"

                let rootfs = directory.appendingPathComponent("rootfs")
                let pulled = try Self.kiln(["pull", reference, "--output", "type=rootfs,dest=\(rootfs.path)"], in: directory)
                #expect(pulled.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == base.digest)
                let diff = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/diff"),
                                                 ["-r", "--no-dereference", base.rootfs.path, rootfs.path])
                #expect(diff.status == 0, "\(diff.stdout)")

                let layout = directory.appendingPathComponent("layout")
                try Self.kiln(["pull", reference, "--output", "type=oci,dest=\(layout.path)"], in: directory)
                #expect(try Self.skopeoDigest("oci:\(layout.path):1") == base.digest)
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
                #expect(leftovers.isEmpty)

                let missing = try KilnBinary.run(["pull", "\(registry.host)/base/absent:1", "--output", "type=oci,dest=\(directory.path)/x"],
                                                 environment: Self.environment(directory))
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("\(registry.host)/base/absent"))
                #expect(missing.stderr.contains("404"))
                #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/x"))
            }
        }
    }

    @Test("kiln push from a layout: skopeo reads it; kiln inspect --raw gives the exact bytes")
    func pushAndInspect() async throws {
        try await withTestRegistry { registry in
            try await Self.withDirectory { directory in
                let base = try BaseImages.busybox()
                let reference = "\(registry.host)/pushed/busybox:v1"
                let pushed = try Self.kiln(["push", base.ociReference, reference], in: directory)
                #expect(pushed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == base.digest)
                #expect(try Self.skopeoDigest("docker://\(reference)") == base.digest)
                let raw = try Self.kiln(["inspect", "--raw", reference], in: directory)
                #expect(raw.stdoutData == (try Self.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"]).stdoutData))
                let text = try Self.kiln(["inspect", reference], in: directory)
                #expect(text.stdout.contains("Digest:       \(base.digest)"))
                #expect(text.stdout.contains("Layers:"))

                let archive = directory.appendingPathComponent("busybox.tar")
                _ = try Self.skopeo(["copy", base.ociReference, "docker-archive:\(archive.path):busybox:1"])
                let fromArchive = try Self.kiln(["push", "docker-archive:\(archive.path)", "\(registry.host)/archived/busybox:1"],
                                                in: directory)
                let archived = fromArchive.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try Self.skopeoDigest("docker://\(registry.host)/archived/busybox:1") == archived)
                let rootfs = directory.appendingPathComponent("archived-rootfs")
                try Self.kiln(["pull", "\(registry.host)/archived/busybox:1", "--output", "type=rootfs,dest=\(rootfs.path)"], in: directory)
                let diff = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/diff"),
                                                 ["-r", "--no-dereference", base.rootfs.path, rootfs.path])
                #expect(diff.status == 0, "\(diff.stdout)")
            }
        }
    }

    @Test("kiln copy within one registry mounts every blob; to another registry it transfers them")
    func copy() async throws {
        try await withTestRegistry { registry in
            try await withTestRegistry { other in
                try await Self.withDirectory { directory in
                    let base = try BaseImages.busybox()
                    let source = "\(registry.host)/base/busybox:1"
                    try Self.kiln(["push", base.ociReference, source], in: directory)
                    let uploads = registry.requestCount("PUT", path: "/blobs/uploads/")
                    try Self.kiln(["copy", source, "\(registry.host)/copied/busybox:2"], in: directory)
                    #expect(registry.requestCount("PUT", path: "/blobs/uploads/") == uploads)
                    #expect(registry.requestCount("POST", path: "mount=") >= 2)
                    #expect(try Self.skopeoDigest("docker://\(registry.host)/copied/busybox:2") == base.digest)

                    try Self.kiln(["copy", "docker://\(source)", "\(other.host)/elsewhere/busybox:3"], in: directory)
                    #expect(try Self.skopeoDigest("docker://\(other.host)/elsewhere/busybox:3") == base.digest)
                }
            }
        }
    }

    @Test("kiln login checks the password first, then writes auths; logout removes only that entry")
    func loginLogout() async throws {
        try await withTestRegistry(auth: .basic(username: "kiln", password: "s3cret")) { registry in
            try await Self.withDirectory { directory in
                let config = directory.appendingPathComponent("docker/config.json")
                try FileManager.default.createDirectory(at: config.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(#"{"auths": {"other.example": {"auth": "eDp5"}}, "credHelpers": {"gcr.io": "gcloud"}}"#.utf8).write(to: config)

                let wrong = try KilnBinary.run(["login", "--username", "kiln", "--password-stdin", registry.host],
                                               stdin: Data("nope\n".utf8), environment: Self.environment(directory))
                #expect(wrong.status != 0)
                #expect(wrong.stderr.contains("401"))
                #expect(!(try String(contentsOf: config, encoding: .utf8)).contains(registry.host))

                try Self.kiln(["login", "-u", "kiln", "--password-stdin", registry.host], in: directory, stdin: Data("s3cret\n".utf8))
                struct File: Decodable {
                    var auths: [String: [String: String]]
                    var credHelpers: [String: String]
                }
                let stored = try JSONDecoder().decode(File.self, from: Data(contentsOf: config))
                #expect(stored.auths[registry.host]?["auth"] == Data("kiln:s3cret".utf8).base64EncodedString())
                #expect(stored.auths["other.example"]?["auth"] == "eDp5")
                #expect(stored.credHelpers == ["gcr.io": "gcloud"])
                let attributes = try FileManager.default.attributesOfItem(atPath: config.path)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

                // The stored credentials are what later commands use.
                let base = try BaseImages.busybox()
                try Self.kiln(["push", base.ociReference, "\(registry.host)/private/busybox:1"], in: directory)

                try Self.kiln(["logout", registry.host], in: directory)
                let after = try JSONDecoder().decode(File.self, from: Data(contentsOf: config))
                #expect(after.auths[registry.host] == nil)
                #expect(after.auths["other.example"] != nil)
                let again = try KilnBinary.run(["logout", registry.host], environment: Self.environment(directory))
                #expect(again.status != 0)
            }
        }
    }

    @Test("--registry-mirror sends pulls to the mirror; a bad flag is a usage error")
    func mirrorFlag() async throws {
        try await withTestRegistry { mirror in
            try await Self.withDirectory { directory in
                let base = try BaseImages.busybox()
                _ = try Self.skopeo(["copy", "--dest-tls-verify=false", base.ociReference, "docker://\(mirror.host)/hub/library/busybox:1"])
                let originPort = try TestRegistry.freePort()
                let layout = directory.appendingPathComponent("layout")
                // The origin does not even exist: everything must come from the mirror.
                let pulled = try Self.kiln(["pull", "127.0.0.1:\(originPort)/library/busybox:1", "--output",
                                            "type=oci,dest=\(layout.path)",
                                            "--registry-mirror", "127.0.0.1:\(originPort)=\(mirror.host)/hub"], in: directory)
                #expect(pulled.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == base.digest)
                let bad = try KilnBinary.run(["pull", "x/y", "--output", "type=oci,dest=/tmp/z", "--registry-mirror", "nonsense"],
                                             environment: Self.environment(directory))
                #expect(bad.status != 0)
                #expect(bad.stderr.contains("REGISTRY=MIRROR"))
            }
        }
    }
}
