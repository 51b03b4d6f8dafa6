import Foundation
import KilnTestSupport
import Testing

/// What Kiln writes, read by the tools people use, for an image built FROM a Docker schema 2
/// base and FROM an OCI base: OCI layout → umoci, skopeo, podman, containerd; docker-archive →
/// docker (20.10 cannot load OCI layouts), podman; registry (OCI and `oci-mediatypes=false`)
/// → skopeo, docker, containerd. Daemons are private to each test and stopped by it.
@Suite("reader matrix: Kiln's outputs in umoci, skopeo, podman, docker, containerd", .serialized,
       .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct ReaderMatrixTests {
    let harness: BuildHarness
    var bases: FormatBases { FormatBases(harness: harness) }

    init() throws {
        harness = try BuildHarness()
        try Data("hello from kiln\n".utf8).write(to: harness.context.appendingPathComponent("hello"))
    }

    /// The outputs of one build FROM a base of `format`, in every form.
    struct Outputs {
        /// An OCI layout, image `v1`.
        var layout: URL
        /// A tar of that layout (what `podman load` and `ctr import` take).
        var layoutArchive: URL
        /// A docker-archive tagged `archiveTag`.
        var dockerArchive: URL
        var archiveTag: String
        /// Pushed with OCI media types, and with Docker's (`oci-mediatypes=false`).
        var ociReference: String
        var dockerReference: String
    }

    /// Pushes a base of `format`, builds FROM it into every output form.
    func build(from format: FormatBases.Format, registry: TestRegistry) throws -> Outputs {
        let base = try bases.push(format, to: registry)
        let file = harness.directory.appendingPathComponent("Dockerfile-\(format)")
        try Data("FROM \(base)\nCOPY hello /hello\nCMD [\"cat\", \"/hello\"]\n".utf8).write(to: file)
        let directory = harness.directory.appendingPathComponent("outputs-\(format)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outputs = Outputs(
            layout: directory.appendingPathComponent("layout"), layoutArchive: directory.appendingPathComponent("layout.tar"),
            dockerArchive: directory.appendingPathComponent("docker.tar"), archiveTag: "kiln-test/app-\(format):v1",
            ociReference: "\(registry.host)/out/app-\(format):oci", dockerReference: "\(registry.host)/out/app-\(format):docker")
        func kiln(_ flags: [String]) throws {
            let result = try KilnBinary.run(["build", "--progress", "plain", "-f", file.path] + flags + [harness.context.path],
                                            environment: ["KILN_ROOT": harness.root.url.path])
            try #require(result.status == 0, "\(result.stderr)")
        }
        try kiln(["--output", "type=oci,dest=\(outputs.layout.path),name=v1",
                  "--output", "type=docker,dest=\(outputs.dockerArchive.path),name=\(outputs.archiveTag)",
                  "--output", "type=registry,name=\(outputs.ociReference)"])
        try kiln(["--output", "type=registry,name=\(outputs.dockerReference),oci-mediatypes=false"])
        try ProcessRunner.checked("tar", ["-C", outputs.layout.path, "-cf", outputs.layoutArchive.path, "."])
        #expect(try ImageDocuments.layout(outputs.layout, refName: "v1").allMediaTypes("application/vnd.oci."))
        #expect(try ImageDocuments.registry(outputs.ociReference).allMediaTypes("application/vnd.oci."))
        #expect(try ImageDocuments.registry(outputs.dockerReference).allMediaTypes("application/vnd.docker."))
        return outputs
    }

    @Test("OCI layout: umoci unpacks it, skopeo inspects and copies it", arguments: FormatBases.Format.allCases)
    func layoutInUmociAndSkopeo(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let outputs = try build(from: format, registry: registry)
            let bundle = harness.directory.appendingPathComponent("bundle-\(format)")
            try ProcessRunner.checked("umoci", ["unpack", "--image", "\(outputs.layout.path):v1", bundle.path])
            #expect(try String(contentsOf: bundle.appendingPathComponent("rootfs/hello"), encoding: .utf8) == "hello from kiln\n")
            #expect(FileManager.default.fileExists(atPath: bundle.appendingPathComponent("rootfs/bin/busybox").path))

            let inspect = try ProcessRunner.checked("skopeo", ["inspect", "oci:\(outputs.layout.path):v1"])
            #expect(inspect.stdout.contains("\"Architecture\": \"amd64\""), "\(inspect.stdout)")
            let copy = harness.directory.appendingPathComponent("skopeo-copy-\(format)")
            try ProcessRunner.checked("skopeo", ["copy", "oci:\(outputs.layout.path):v1", "oci:\(copy.path):v1"])
            // skopeo copies an OCI image as is: the same manifest digest.
            #expect(try ImageDocuments.layout(copy, refName: "v1").rawManifest == ImageDocuments.layout(outputs.layout, refName: "v1").rawManifest)
        }
    }

    @Test("OCI layout and docker-archive: podman loads both (private storage)",
          .enabled(if: PrivatePodmanStorage.isAvailable, Comment(rawValue: PrivatePodmanStorage.unavailableReason)), arguments: FormatBases.Format.allCases)
    func podmanLoads(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let outputs = try build(from: format, registry: registry)
            let storage = try PrivatePodmanStorage()
            defer { storage.remove() }
            for (archive, name) in [(outputs.layoutArchive, "oci-archive"), (outputs.dockerArchive, "docker-archive")] {
                let loaded = try storage.podman(["load", "-i", archive.path])
                #expect(loaded.status == 0, "podman load \(name): \(loaded.stderr)")
                let id = loaded.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
                let cmd = try storage.podman(["image", "inspect", "--format", "{{json .Config.Cmd}}", id])
                #expect(cmd.stdout.contains("[\"cat\",\"/hello\"]"), "\(name): \(loaded.stdout) \(cmd.stdout) \(cmd.stderr)")
            }
        }
    }

    @Test("docker-archive: dockerd 20.10 loads it; the files are the image's",
          .enabled(if: PrivateDockerDaemon.isAvailable, Comment(rawValue: PrivateDockerDaemon.unavailableReason)), arguments: FormatBases.Format.allCases)
    func dockerLoads(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let outputs = try build(from: format, registry: registry)
            try await withPrivateDockerDaemon { docker in
                let loaded = try docker.docker(["load", "-i", outputs.dockerArchive.path])
                #expect(loaded.status == 0, "\(loaded.stderr)\n\(docker.log())")
                #expect(loaded.stdout.contains("Loaded image: \(outputs.archiveTag)"), "\(loaded.stdout)")
                try Self.expectFiles(of: outputs.archiveTag, in: docker)
            }
        }
    }

    @Test("registry, OCI and Docker media types: docker pulls both; skopeo copies both",
          .enabled(if: PrivateDockerDaemon.isAvailable, Comment(rawValue: PrivateDockerDaemon.unavailableReason)), arguments: FormatBases.Format.allCases)
    func registryInDockerAndSkopeo(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let outputs = try build(from: format, registry: registry)
            for reference in [outputs.ociReference, outputs.dockerReference] {
                let copy = harness.directory.appendingPathComponent("pulled-\(UUID().uuidString.prefix(8))")
                try ProcessRunner.checked("skopeo", ["copy", "--src-tls-verify=false", "docker://\(reference)", "oci:\(copy.path):v1"])
            }
            try await withPrivateDockerDaemon(insecureRegistries: [registry.host]) { docker in
                for reference in [outputs.ociReference, outputs.dockerReference] {
                    let pulled = try docker.docker(["pull", reference])
                    #expect(pulled.status == 0, "docker pull \(reference): \(pulled.stderr)\n\(docker.log())")
                    try Self.expectFiles(of: reference, in: docker)
                }
            }
        }
    }

    @Test("containerd: ctr imports the OCI layout and pulls both registry images, unpacking each",
          .enabled(if: PrivateContainerd.isAvailable, Comment(rawValue: PrivateContainerd.unavailableReason)), arguments: FormatBases.Format.allCases)
    func containerdReads(base format: FormatBases.Format) async throws {
        try await withTestRegistry { registry in
            let outputs = try build(from: format, registry: registry)
            try await withPrivateContainerd { containerd in
                let imported = try containerd.ctr(["images", "import", "--snapshotter", "native", "--base-name",
                                                   "localhost/kiln-test/app-\(format)", outputs.layoutArchive.path])
                #expect(imported.status == 0, "ctr import: \(imported.stderr)\n\(containerd.log())")
                var names = ["localhost/kiln-test/app-\(format):v1"]
                for reference in [outputs.ociReference, outputs.dockerReference] {
                    let pulled = try containerd.ctr(["images", "pull", "--plain-http", "--snapshotter", "native", reference])
                    #expect(pulled.status == 0, "ctr pull \(reference): \(pulled.stderr)\n\(containerd.log())")
                    names.append(reference)
                }
                let listed = try containerd.ctr(["images", "ls", "-q"]).stdout
                for name in names {
                    #expect(listed.contains(name), "\(name) in \(listed)")
                    // Unpacked into the snapshotter: every layer applied and its diffID checked.
                    let check = try containerd.ctr(["images", "check", "--snapshotter", "native", "name==\(name)"])
                    #expect(check.stdout.contains("complete") && check.stdout.contains("true"), "\(check.stdout) \(check.stderr)")
                }
            }
        }
    }

    /// The image's `/hello` and `CMD`, read through the daemon without running it (`create` + `cp`).
    static func expectFiles(of image: String, in docker: PrivateDockerDaemon) throws {
        let cmd = try docker.docker(["image", "inspect", "--format", "{{json .Config.Cmd}}", image])
        #expect(cmd.stdout.contains("[\"cat\",\"/hello\"]"), "\(cmd.stdout) \(cmd.stderr)")
        let created = try docker.docker(["create", image])
        #expect(created.status == 0, "\(created.stderr)")
        let container = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? docker.docker(["rm", "-f", container]) }
        let copied = try docker.docker(["cp", "\(container):/hello", "-"])
        #expect(String(decoding: copied.stdoutData, as: UTF8.self).contains("hello from kiln"), "\(copied.stderr)")
    }
}
