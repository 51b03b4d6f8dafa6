import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

@Suite("kiln inspect")
struct InspectCommandTests {
    @Test("the text form shows digest, media types, platform, config and a layers table")
    func text() throws {
        let base = try BaseImages.busybox()
        let result = try KilnBinary.run(["inspect", base.ociReference])
        #expect(result.status == 0, "\(result.stderr)")
        let image = try OCILayout(at: base.layout).image()
        let layer = try #require(try image.manifest().layers.first)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("Digest:       \(base.digest)"))
        #expect(lines.contains("MediaType:    \(MediaType.ociManifest.rawValue)"))
        #expect(lines.contains("Platform:     \(Platform.host.normalized)"))
        #expect(lines.contains(#"Cmd:          ["sh"]"#))
        #expect(lines.contains { $0.hasPrefix("Env:          PATH=") })
        #expect(lines.contains("Layers:"))
        let row = try #require(lines.first { $0.contains(layer.digest.description) })
        #expect(row.contains("\(layer.size)") && row.contains(layer.mediaType.rawValue) && row.hasSuffix("kiln import"))
    }

    @Test("--raw prints the manifest's exact bytes; --format json the manifest and config")
    func rawAndJSON() throws {
        let base = try BaseImages.busybox()
        let raw = try KilnBinary.run(["inspect", "--raw", base.ociReference])
        #expect(raw.status == 0)
        #expect(Digest.sha256(of: raw.stdoutData).description == base.digest)

        let json = try KilnBinary.run(["inspect", "--format", "json", base.ociReference])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(object["Digest"] as? String == base.digest)
        let manifest = try #require(object["Manifest"] as? [String: Any])
        #expect(manifest["mediaType"] as? String == MediaType.ociManifest.rawValue)
        let config = try #require(object["Config"] as? [String: Any])
        #expect((config["config"] as? [String: Any])?["Cmd"] as? [String] == ["sh"])
    }

    @Test("a docker-archive, by path and by tag")
    func dockerArchive() throws {
        let base = try BaseImages.busybox()
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let archive = scratch.path("with:colon.tar")
        let imported = try KilnBinary.run(["import", base.rootfs.path, "--output", "type=docker,dest=\(archive.path)",
                                           "--tag", "tools/box:1"])
        #expect(imported.status == 0, "\(imported.stderr)")
        for reference in ["docker-archive:\(archive.path)", "docker-archive:\(archive.path):tools/box:1"] {
            let result = try KilnBinary.run(["inspect", reference])
            #expect(result.status == 0, "\(reference): \(result.stderr)")
            #expect(result.stdout.contains("MediaType:    \(MediaType.dockerManifest.rawValue)"))
            #expect(result.stdout.contains(MediaType.dockerLayer.rawValue))
        }
        let missing = try KilnBinary.run(["inspect", "docker-archive:\(archive.path):tools/box:2"])
        #expect(missing.status != 0 && missing.stderr.contains("no image named"))
    }

    @Test("unknown transports and missing layouts are errors")
    func errors() throws {
        // Not docker://: that is a registry reference now, and tests talk to no registry but their own.
        let transport = try KilnBinary.run(["inspect", "dir:/nonexistent/image"])
        #expect(transport.status != 0 && transport.stderr.contains("oci:PATH"))
        let missing = try KilnBinary.run(["inspect", "oci:/nonexistent/layout"])
        #expect(missing.status != 0 && missing.stderr.contains("No such file"))
    }
}
