import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

@Suite("kiln import")
struct ImportCommandTests {
    @Test("--change instructions, --tag and --platform end up in the config and the index")
    func changes() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        let layout = scratch.path("layout")
        let result = try KilnBinary.run([
            "import", tree.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "example/app:2.0",
            "--platform", "linux/arm64/v8", "--compression", "zstd",
            "--change", #"CMD ["run.sh", "--fast"]"#,
            "--change", "ENTRYPOINT /bin/sh",
            "--change", #"ENV A=1 B="two words""#,
            "--change", "env LEGACY value with spaces",
            "--change", "EXPOSE 80 53/udp",
            "--change", #"LABEL org.example.team="core team" tier=1"#,
            "--change", "USER 1000:1000",
            "--change", "WORKDIR /srv",
            "--change", "WORKDIR app",
            "--change", #"VOLUME ["/data"]"#,
            "--change", "STOPSIGNAL SIGINT",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let image = try OCILayout(at: layout).image(reference: "2.0")
        #expect(try image.digest().description == result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let config = try image.config()
        let run = config.config
        #expect(run.cmd == ["run.sh", "--fast"])
        #expect(run.entrypoint == ["/bin/sh", "-c", "/bin/sh"])
        #expect(run.env == ["A=1", "B=two words", "LEGACY=value with spaces"])
        #expect(run.exposedPorts == ["80/tcp", "53/udp"])
        #expect(run.labels == ["org.example.team": "core team", "tier": "1"])
        #expect(run.user == "1000:1000")
        #expect(run.workingDir == "/srv/app")
        #expect(run.volumes == ["/data"])
        #expect(run.stopSignal == "SIGINT")
        #expect(config.platform == Platform(os: "linux", architecture: "arm64", variant: "v8"))
        #expect(config.history.count == 1 && config.history[0].createdBy == "kiln import")
        #expect(config.rootfs.diffIDs.count == 1)
        #expect(try image.manifest().layers.first?.mediaType == .ociLayerZstd)
    }

    @Test("the same tree imported twice with SOURCE_DATE_EPOCH gives the same digest; a tarball of it the same layer")
    func deterministic() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        let environment = ["SOURCE_DATE_EPOCH": "1700000000"]
        func importDigest(_ source: URL, _ dest: String) throws -> String {
            let result = try KilnBinary.run(["import", source.path, "--output", "type=oci,dest=\(scratch.path(dest).path)",
                                             "--change", "CMD sh"], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        let first = try importDigest(tree, "one")
        let second = try importDigest(tree, "two")
        #expect(first == second && first.hasPrefix("sha256:"))

        let tarball = scratch.path("rootfs.tar.gz")
        let tar = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-czf", tarball.path, "-C", tree.path, "."])
        #expect(tar.status == 0)
        _ = try importDigest(tarball, "three")
        let fromDirectory = try OCILayout(at: scratch.path("one")).image().config().rootfs.diffIDs
        let fromTarball = try OCILayout(at: scratch.path("three")).image().config().rootfs.diffIDs
        #expect(fromDirectory == fromTarball)
    }

    @Test("a tarball with an OCI tar output and the default tag")
    func tarballToOCIArchive() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        let tarball = scratch.path("rootfs.tar")
        #expect(try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-cf", tarball.path, "-C", tree.path, "."]).status == 0)
        let archive = scratch.path("image.oci.tar")
        let result = try KilnBinary.run(["import", tarball.path, "--output", "type=oci,dest=\(archive.path),tar=true"])
        #expect(result.status == 0, "\(result.stderr)")
        let image = try OCILayout(at: archive).image(reference: "latest")
        #expect(try image.config().history.first?.comment == "Imported from a tarball")
        #expect(try image.layers().first?.openUncompressed().measure().digest == image.config().rootfs.diffIDs.first)
    }

    @Test("a tarball on standard input (-) gives the same image as the same tarball by path")
    func standardInput() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        let tarball = scratch.path("rootfs.tar")
        #expect(try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-cf", tarball.path, "-C", tree.path, "."]).status == 0)
        let environment = ["SOURCE_DATE_EPOCH": "1700000000"]
        let byPath = try KilnBinary.run(["import", tarball.path, "--output", "type=oci,dest=\(scratch.path("a").path)"],
                                        environment: environment)
        let piped = try KilnBinary.run(["import", "-", "--output", "type=oci,dest=\(scratch.path("b").path)"],
                                       stdin: try Data(contentsOf: tarball), environment: environment)
        #expect(byPath.status == 0 && piped.status == 0, "\(byPath.stderr)\(piped.stderr)")
        #expect(byPath.stdout == piped.stdout)
    }
}
