import Foundation
import KilnTestSupport
import Testing

/// Issue 16's proof, end to end with the built `kiln`, a real registry, skopeo, umoci, runc,
/// dockerd and containerd: a fixture built for `linux/amd64,linux/arm64` is one OCI image index
/// whose children run (the arm64 one under QEMU), read back by other tools, and equal what a
/// one-platform build makes; the cross-compiled fixture runs no emulated step; the arm64 Debian
/// base (second stage run by Kiln under QEMU) joins the amd64 one in a two-platform index.
@Suite(
    "Multi-platform builds end to end", .serialized,
    .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
    .enabled(if: Emulators.isAarch64Available, Comment(rawValue: Emulators.aarch64UnavailableReason)))
struct MultiPlatformTests {
    static let platforms = "linux/amd64,linux/arm64"

    /// The fixture set: one RUN (emulated for arm64) records the machine it ran on, and the
    /// image's command prints the machine it runs on.
    static let unameDockerfile = """
        FROM {base}
        ARG TARGETARCH
        RUN uname -m > /built-on && echo "$TARGETARCH" > /target-arch
        CMD ["uname", "-m"]

        """

    @Test("two platforms: one index in the layout and in the metadata; each child runs with runc and prints its machine; schemas pass")
    func twoPlatformLayout() async throws {
        try await withBusyboxIndex(Self.unameDockerfile) { work, registry in
            let layout = work.directory.appendingPathComponent("out")
            let metadata = work.directory.appendingPathComponent("metadata.json")
            let result = try work.kiln(["build", "--progress", "plain", "--platform", Self.platforms,
                                        "--output", "type=oci,dest=\(layout.path),name=app:latest",
                                        "--metadata-file", metadata.path, work.context.path])
            #expect(result.status == 0, "\(result.stderr.suffix(4000))")
            guard result.status == 0 else { return }

            let index = try IndexInLayout(layout: layout, refName: "app:latest")
            #expect(Set(index.children.keys) == ["linux/amd64", "linux/arm64"], "index lists \(index.children)")
            let report = try ReportedBuild(file: metadata)
            #expect(report.digest == index.digest, "containerimage.digest must be the index's digest")
            #expect(report.platforms == index.children, "kiln.platforms must name the index's children")
            #expect(report.emulatedSteps(on: "linux/arm64") >= 1, "the arm64 RUN ran under QEMU: \(report.steps)")
            #expect(report.emulatedSteps(on: "linux/amd64") == 0, "nothing runs emulated for the host platform: \(report.steps)")

            for (architecture, machine) in [("amd64", "x86_64"), ("arm64", "aarch64")] {
                let bundle = try PlatformBundle(layout: layout, refName: "app:latest", architecture: architecture, in: work.directory)
                let run = try bundle.run()
                #expect(run.status == 0, "\(architecture): \(run.stderr)")
                #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == machine, "\(architecture) printed \(run.stdout)")
                #expect(try bundle.file("built-on") == machine + "\n", "the \(architecture) RUN ran on another machine")
                #expect(try bundle.file("target-arch") == architecture + "\n")
            }
            let errors = try OCISchema.errors(index.documents)
            #expect(errors.isEmpty, "\(errors)")
        }
    }

    @Test("each child equals what --platform alone builds (same manifest digest with SOURCE_DATE_EPOCH)")
    func childrenEqualSinglePlatformBuilds() async throws {
        try await withBusyboxIndex(Self.unameDockerfile) { work, registry in
            func build(_ platform: String, _ name: String) throws -> URL {
                let layout = work.directory.appendingPathComponent(name)
                // A store of its own for each build: no build reuses another's steps.
                let result = try work.kiln(["build", "--progress", "plain", "--platform", platform,
                                            "--output", "type=oci,dest=\(layout.path),name=app:latest", work.context.path],
                                           root: work.directory.appendingPathComponent("root-\(name)"))
                #expect(result.status == 0, "\(platform): \(result.stderr.suffix(4000))")
                return layout
            }
            let both = try IndexInLayout(layout: try build(Self.platforms, "both"), refName: "app:latest")
            for architecture in ["amd64", "arm64"] {
                let alone = try IndexInLayout.manifestDigest(layout: try build("linux/\(architecture)", architecture), refName: "app:latest")
                #expect(both.children["linux/\(architecture)"] == alone, "\(architecture): index child \(both.children) against \(alone)")
            }
        }
    }

    @Test("--push: the index in the registry is read back by skopeo --override-arch, docker pull --platform and ctr image pull --platform")
    func pushedIndexReadBack() async throws {
        try await withBusyboxIndex(Self.unameDockerfile) { work, registry in
            let reference = "\(registry.host)/app/multi:v1"
            let metadata = work.directory.appendingPathComponent("metadata.json")
            let result = try work.kiln(["build", "--progress", "plain", "--platform", Self.platforms, "-t", reference, "--push",
                                        "--metadata-file", metadata.path, work.context.path])
            #expect(result.status == 0, "\(result.stderr.suffix(4000))")
            guard result.status == 0 else { return }
            let report = try ReportedBuild(file: metadata)

            let raw = try ProcessRunner.checked("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
            let index = try JSONSerialization.jsonObject(with: raw.stdoutData) as? [String: Any] ?? [:]
            #expect(index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
            #expect(try ImageIndexLayout.sha256Digest(of: raw.stdoutData) == report.digest, "the tag must name the index of the metadata")
            // The registry's access log: each child is put by digest before the index is put under the tag.
            let manifestPuts = registry.log().split(separator: "\n").compactMap { line -> String? in
                guard let request = line.range(of: "\"PUT ") else { return nil }
                let target = line[request.upperBound...].prefix { $0 != " " }
                return target.contains("/manifests/") ? String(target) : nil
            }
            let tagPut = manifestPuts.firstIndex { $0.hasSuffix("/app/multi/manifests/v1") }
            #expect(tagPut != nil, "no PUT of the tag: \(manifestPuts)")
            for digest in report.platforms.values {
                let childPut = manifestPuts.firstIndex { $0.hasSuffix("/app/multi/manifests/\(digest)") }
                #expect(childPut != nil && tagPut != nil && childPut! < tagPut!, "child \(digest) not put before the index: \(manifestPuts)")
            }
            for architecture in ["amd64", "arm64"] {
                let inspect = try ProcessRunner.checked("skopeo", ["inspect", "--tls-verify=false", "--override-arch", architecture,
                                                                   "docker://\(reference)"])
                let image = try JSONSerialization.jsonObject(with: inspect.stdoutData) as? [String: Any] ?? [:]
                #expect(image["Architecture"] as? String == architecture)
                #expect(try PlatformIndexBuildTests.pickedDigest("docker://\(reference)", architecture, in: work.directory)
                            == report.platforms["linux/\(architecture)"], "skopeo --override-arch \(architecture)")
            }

            try await withPrivateDockerDaemon(insecureRegistries: [registry.host]) { docker in
                let pull = try docker.docker(["pull", "--platform", "linux/arm64", reference])
                #expect(pull.status == 0, "docker pull: \(pull.stderr)\n\(docker.log().suffix(2000))")
                let architecture = try docker.docker(["image", "inspect", "--format", "{{.Architecture}}", reference])
                #expect(architecture.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "arm64", "\(architecture.stderr)")
            }
            try await withPrivateContainerd { containerd in
                let pull = try containerd.ctr(["image", "pull", "--plain-http", "--platform", "linux/arm64", reference])
                #expect(pull.status == 0, "ctr image pull: \(pull.stderr)\n\(containerd.log().suffix(2000))")
                let arm64 = report.platforms["linux/arm64"].map { String($0.dropFirst("sha256:".count)) } ?? "missing"
                let amd64 = report.platforms["linux/amd64"].map { String($0.dropFirst("sha256:".count)) } ?? "missing"
                #expect(pull.stdout.contains(arm64), "ctr fetched no arm64 manifest: \(pull.stdout)")
                #expect(!pull.stdout.contains(amd64), "ctr --platform linux/arm64 fetched the amd64 manifest: \(pull.stdout)")
            }
        }
    }

    @Test("the cross-compiled fixture built for two platforms runs no emulated step; each binary is its platform's and runs (arm64 under QEMU)",
          .enabled(if: BaseImages.canMakeDebian, "needs root and debootstrap"))
    func crossCompiledFixture() async throws {
        try await withBusyboxIndex(CrossCompiledFixture.dockerfile) { work, registry in
            try ProcessRunner.checked("skopeo", ["copy", "--dest-tls-verify=false", try BaseImages.debianCrossCompiler().ociReference,
                                                 "docker://\(registry.host)/base/debian-cross:latest"])
            try Data(CrossCompiledFixture.program.utf8).write(to: work.context.appendingPathComponent("hello.c"))
            let layout = work.directory.appendingPathComponent("out")
            let metadata = work.directory.appendingPathComponent("metadata.json")
            let result = try work.kiln(["build", "--progress", "plain", "--platform", Self.platforms,
                                        "--output", "type=oci,dest=\(layout.path),name=hello:latest",
                                        "--metadata-file", metadata.path, work.context.path])
            #expect(result.status == 0, "\(result.stderr.suffix(4000))")
            guard result.status == 0 else { return }
            let report = try ReportedBuild(file: metadata)
            #expect(report.emulatedSteps(on: nil) == 0, "a step ran under QEMU: \(report.steps)")
            // The compile stage of the arm64 build runs on the build platform.
            #expect(report.steps.contains { step in
                step["platform"] as? String == "linux/amd64" && ((step["step"] as? [String: Any])?["text"] as? String)?.hasPrefix("RUN case") == true
            }, "\(report.steps)")

            // ELF e_machine (bytes 18-19, little-endian): 62 is EM_X86_64, 183 EM_AARCH64.
            for (architecture, machine, elfMachine) in [("amd64", "x86_64", UInt8(62)), ("arm64", "aarch64", UInt8(183))] {
                let bundle = try PlatformBundle(layout: layout, refName: "hello:latest", architecture: architecture, in: work.directory)
                let binary = bundle.rootfs.appendingPathComponent("hello")
                let header = try Data(contentsOf: binary).prefix(20)
                #expect(header.count == 20 && header[header.startIndex + 18] == elfMachine && header[header.startIndex + 19] == 0,
                        "the \(architecture) image's /hello is no \(machine) ELF file")
                let direct = try ProcessRunner.run(binary, [])
                #expect(direct.stdout == "hello from \(machine)\n", "run on this machine: \(direct.stdout) \(direct.stderr)")
                let contained = try bundle.run()
                #expect(contained.stdout == "hello from \(machine)\n", "run with runc: \(contained.stdout) \(contained.stderr)")
            }
        }
    }

    @Test("the amd64 and arm64 Debian bases form one two-platform index in the registry; a two-platform build FROM it runs dpkg for each",
          .enabled(if: BaseImages.canMakeDebian, "needs root and debootstrap"))
    func debianPairIndex() async throws {
        let work = try MultiPlatformWorkspace()
        defer { work.remove() }
        try await withTestRegistry { registry in
            let amd64 = try BaseImages.debianMinimal()
            let arm64 = try BaseImages.debianArm64()
            let pair = try ImageIndexLayout.join([amd64, arm64], into: work.directory.appendingPathComponent("debian-index"),
                                                 refName: "bookworm")
            let reference = "\(registry.host)/base/debian:bookworm"
            try pair.push(to: reference)
            // skopeo inspect's Digest is the index's; the copy shows which child it picks.
            for (architecture, image) in [("amd64", amd64), ("arm64", arm64)] {
                #expect(try PlatformIndexBuildTests.pickedDigest("docker://\(reference)", architecture, in: work.directory) == image.digest,
                        "skopeo --override-arch \(architecture)")
            }

            try work.write("FROM \(reference)\nRUN dpkg --print-architecture > /dpkg-arch && uname -m >> /dpkg-arch\n")
            let layout = work.directory.appendingPathComponent("out")
            let result = try work.kiln(["build", "--progress", "plain", "--platform", Self.platforms,
                                        "--output", "type=oci,dest=\(layout.path),name=app:latest", work.context.path])
            #expect(result.status == 0, "\(result.stderr.suffix(4000))")
            guard result.status == 0 else { return }
            for (architecture, machine) in [("amd64", "x86_64"), ("arm64", "aarch64")] {
                let bundle = try PlatformBundle(layout: layout, refName: "app:latest", architecture: architecture, in: work.directory)
                #expect(try bundle.file("dpkg-arch") == "\(architecture)\n\(machine)\n")
            }
        }
    }
}

/// Runs `body` with a fresh workspace and registry holding the amd64 + arm64 busybox index;
/// the Dockerfile is `dockerfile` with `{base}` replaced by that index's reference and
/// `{registry}` by the registry's host.
func withBusyboxIndex(_ dockerfile: String, _ body: (MultiPlatformWorkspace, TestRegistry) async throws -> Void) async throws {
    let work = try MultiPlatformWorkspace()
    defer { work.remove() }
    try await withTestRegistry { registry in
        let base = try MultiPlatformBases.pushBusybox(to: registry, in: work.directory)
        try work.write(dockerfile.replacingOccurrences(of: "{base}", with: base).replacingOccurrences(of: "{registry}", with: registry.host))
        try await body(work, registry)
    }
}

/// A context folder and a store for one test, removed by ``remove()``.
struct MultiPlatformWorkspace {
    let directory: URL
    var context: URL { directory.appendingPathComponent("context") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-multiplatform-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("context"), withIntermediateDirectories: true)
    }

    func write(_ dockerfile: String) throws {
        try Data(dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
    }

    /// Runs `kiln` with a fixed SOURCE_DATE_EPOCH and `root` (else the workspace's) as KILN_ROOT.
    func kiln(_ arguments: [String], root: URL? = nil) throws -> KilnBinary.Result {
        try KilnBinary.run(arguments, environment: [
            "SOURCE_DATE_EPOCH": "0", "KILN_ROOT": (root ?? directory.appendingPathComponent("root")).path,
        ])
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// The multi-platform bases the fixtures build FROM, pushed to a test's registry.
enum MultiPlatformBases {
    /// Joins the amd64 and arm64 busybox bases into one index, pushes it as
    /// `base/busybox:latest` and returns its reference.
    static func pushBusybox(to registry: TestRegistry, in directory: URL) throws -> String {
        let index = try ImageIndexLayout.join([try BaseImages.busybox(), try BaseImages.busyboxArm64()],
                                              into: directory.appendingPathComponent("busybox-index"), refName: "latest")
        let reference = "\(registry.host)/base/busybox:latest"
        try index.push(to: reference)
        return reference
    }
}

/// The cross-compiled fixture: a C program compiled on the build platform for `$TARGETARCH`
/// (static, so the busybox runtime image needs no C library) and copied into a stage of the
/// target platform.
enum CrossCompiledFixture {
    static let program = #"""
        #include <stdio.h>
        #include <sys/utsname.h>

        int main(void) {
            struct utsname name;
            if (uname(&name) != 0) return 1;
            printf("hello from %s\n", name.machine);
            return 0;
        }

        """#

    /// `{registry}` is the test registry, which holds `base/debian-cross:latest`.
    static let dockerfile = """
        FROM --platform=$BUILDPLATFORM {registry}/base/debian-cross:latest AS build
        ARG TARGETARCH
        COPY hello.c /src/hello.c
        RUN case "$TARGETARCH" in arm64) cc=aarch64-linux-gnu-gcc ;; *) cc=gcc ;; esac \\
         && $cc -static -O2 -o /hello /src/hello.c

        FROM {base}
        COPY --from=build /hello /hello
        CMD ["/hello"]

        """
}

/// A layout or metadata file that is not what a test expected.
struct MultiPlatformFixtureError: Error, CustomStringConvertible {
    let description: String
}

/// An image index named in an OCI layout, read from the layout's files.
struct IndexInLayout {
    let layout: URL
    let digest: String
    /// `os/architecture` (variant left out) → child manifest digest.
    let children: [String: String]
    /// Every JSON document of the index with its media type, for ``OCISchema``.
    let documents: [(mediaType: String, file: URL)]

    init(layout: URL, refName: String) throws {
        self.layout = layout
        let top = try Self.json(layout.appendingPathComponent("index.json"))
        guard let entry = (top["manifests"] as? [[String: Any]])?.first(where: { Self.annotatedRefName($0) == refName }),
              let digest = entry["digest"] as? String else {
            throw MultiPlatformFixtureError(description: "\(layout.path)/index.json names no \(refName)")
        }
        self.digest = digest
        let index = try Self.json(Self.blob(layout, digest))
        var children: [String: String] = [:]
        var documents: [(mediaType: String, file: URL)] = [
            ("application/vnd.oci.image.index.v1+json", layout.appendingPathComponent("index.json")),
            ("application/vnd.oci.layout.header.v1+json", layout.appendingPathComponent("oci-layout")),
            (entry["mediaType"] as? String ?? "missing", Self.blob(layout, digest)),
        ]
        for child in index["manifests"] as? [[String: Any]] ?? [] {
            guard let childDigest = child["digest"] as? String, let platform = child["platform"] as? [String: Any] else { continue }
            children["\(platform["os"] ?? "?")/\(platform["architecture"] ?? "?")"] = childDigest
            documents.append((child["mediaType"] as? String ?? "missing", Self.blob(layout, childDigest)))
            let manifest = try Self.json(Self.blob(layout, childDigest))
            if let config = manifest["config"] as? [String: Any], let configDigest = config["digest"] as? String {
                documents.append((config["mediaType"] as? String ?? "missing", Self.blob(layout, configDigest)))
            }
        }
        self.children = children
        self.documents = documents
    }

    /// The manifest digest of `refName` in a one-platform layout.
    static func manifestDigest(layout: URL, refName: String) throws -> String {
        let top = try json(layout.appendingPathComponent("index.json"))
        guard let entry = (top["manifests"] as? [[String: Any]])?.first(where: { annotatedRefName($0) == refName }),
              let digest = entry["digest"] as? String else {
            throw MultiPlatformFixtureError(description: "\(layout.path)/index.json names no \(refName)")
        }
        return digest
    }

    static func annotatedRefName(_ entry: [String: Any]) -> String? {
        (entry["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]
    }

    static func blob(_ layout: URL, _ digest: String) -> URL {
        layout.appendingPathComponent("blobs/sha256/\(digest.replacingOccurrences(of: "sha256:", with: ""))")
    }

    static func json(_ file: URL) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] else {
            throw MultiPlatformFixtureError(description: "\(file.path) is not a JSON object")
        }
        return object
    }
}

/// What `--metadata-file` reported about a build.
struct ReportedBuild {
    /// `containerimage.digest`.
    let digest: String?
    /// `kiln.platforms`: platform → `containerimage.digest`.
    let platforms: [String: String]
    /// `kiln.steps`.
    let steps: [[String: Any]]

    init(file: URL) throws {
        let document = try IndexInLayout.json(file)
        digest = document["containerimage.digest"] as? String
        var platforms: [String: String] = [:]
        for entry in document["kiln.platforms"] as? [[String: Any]] ?? [] {
            if let platform = entry["platform"] as? String, let digest = entry["containerimage.digest"] as? String {
                platforms[platform] = digest
            }
        }
        self.platforms = platforms
        steps = document["kiln.steps"] as? [[String: Any]] ?? []
    }

    /// The step records marked `emulated`, of `platform` (every platform when nil).
    func emulatedSteps(on platform: String?) -> Int {
        steps.filter { step in
            step["emulated"] as? Bool == true && (platform == nil || step["platform"] as? String == platform)
        }.count
    }
}

/// One platform's image of a layout, picked by skopeo (`--override-arch`) into a layout of its
/// own and unpacked by umoci into a runtime bundle that runc runs.
struct PlatformBundle {
    let directory: URL
    var rootfs: URL { directory.appendingPathComponent("rootfs") }

    init(layout: URL, refName: String, architecture: String, in parent: URL) throws {
        let single = parent.appendingPathComponent("single-\(UUID().uuidString.prefix(8))")
        try ProcessRunner.checked("skopeo", ["copy", "--override-arch", architecture, "oci:\(layout.path):\(refName)",
                                             "oci:\(single.path):image"])
        directory = parent.appendingPathComponent("bundle-\(architecture)-\(UUID().uuidString.prefix(8))")
        try ProcessRunner.checked("umoci", ["unpack", "--image", "\(single.path):image", directory.path])
    }

    /// The text of the file at `path` (relative to the rootfs).
    func file(_ path: String) throws -> String {
        try String(contentsOf: rootfs.appendingPathComponent(path), encoding: .utf8)
    }

    /// Runs the image's command with runc (no terminal) and returns what it printed.
    func run() throws -> KilnBinary.Result {
        let configURL = directory.appendingPathComponent("config.json")
        var config = try IndexInLayout.json(configURL)
        var process = config["process"] as? [String: Any] ?? [:]
        process["terminal"] = false
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let state = directory.appendingPathComponent("runc-state")
        let id = "kiln-multiplatform-\(UUID().uuidString.prefix(12).lowercased())"
        defer { _ = try? ProcessRunner.checked("runc", ["--root", state.path, "delete", "--force", id]) }
        return try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["runc", "--root", state.path, "run", "--bundle", directory.path, id])
    }
}
