import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

/// `kiln import` output checked by tools Kiln's authors did not write: skopeo, umoci, podman,
/// GNU tar, Python's tarfile and the OCI JSON schemas.
@Suite("kiln import, checked by external tools", .serialized)
struct ImportToolTests {
    @Test("skopeo reads the busybox layout with Kiln's digests, and the documents pass the OCI schemas")
    func skopeoAndSchemas() throws {
        let base = try BaseImages.busybox()
        let image = try OCILayout(at: base.layout).image(reference: base.refName)
        #expect(try image.digest().description == base.digest)

        let inspected = try ExternalTools.json("skopeo", ["inspect", "oci:\(base.layout.path):\(base.refName)"])
        #expect(inspected["Digest"] as? String == base.digest)
        #expect(inspected["Layers"] as? [String] == (try image.manifest().layers.map(\.digest.description)))
        #expect(inspected["Architecture"] as? String == Platform.host.architecture)
        let config = try ExternalTools.json("skopeo", ["inspect", "--config", "oci:\(base.layout.path):\(base.refName)"])
        let rootfs = config["rootfs"] as? [String: Any]
        #expect(rootfs?["diff_ids"] as? [String] == (try image.config().rootfs.diffIDs.map(\.description)))

        let manifest = try image.manifest()
        let blobs = base.layout.appendingPathComponent("blobs/sha256")
        let errors = try ExternalTools.schemaErrors([
            (MediaType.ociIndex.rawValue, base.layout.appendingPathComponent("index.json")),
            (MediaType.ociManifest.rawValue, blobs.appendingPathComponent(String(base.digest.dropFirst(7)))),
            (MediaType.ociConfig.rawValue, blobs.appendingPathComponent(manifest.config.digest.encoded)),
            ("application/vnd.oci.layout.header.v1+json", base.layout.appendingPathComponent("oci-layout")),
        ])
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test("GNU tar and Python's tarfile read every entry of the layer")
    func tarReaders() throws {
        let base = try BaseImages.busybox()
        let layer = try #require(try OCILayout(at: base.layout).image().layers().first)
        let blob = base.layout.appendingPathComponent("blobs/sha256/\(layer.descriptor.digest.encoded)")
        let listing = try ExternalTools.run("tar", ["-tvzf", blob.path]).stdout
        #expect(listing.contains("bin/busybox") && listing.contains("bin/sh -> busybox") && listing.contains("etc/passwd"))
        let script = """
        import sys, tarfile
        with tarfile.open(sys.argv[1]) as t:
            for m in t:
                if m.isfile(): t.extractfile(m).read()
                print(m.name)
        """
        let names = try ExternalTools.run("python3", ["-c", script, blob.path]).stdout.split(separator: "\n")
        #expect(names.count == BaseImages.applets.count + 7)
        #expect(names.contains("bin/busybox") && names.contains("etc/group"))
    }

    @Test("umoci unpacks the layout to the tree that was imported")
    func umociUnpack() throws {
        let base = try BaseImages.busybox()
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let bundle = scratch.path("bundle")
        _ = try ExternalTools.run("umoci", ["unpack", "--image", "\(base.layout.path):\(base.refName)", bundle.path])
        let unpacked = try TreeSnapshot(bundle.appendingPathComponent("rootfs"))
        let source = try TreeSnapshot(base.rootfs)
        #expect(unpacked == source, "unpacked:\n\(unpacked)\nsource:\n\(source)")
    }

    @Test("skopeo and podman load the docker-archive; skopeo copies the layout to one Kiln reads back")
    func dockerArchive() throws {
        let base = try BaseImages.busybox()
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let archive = scratch.path("busybox.tar")
        let result = try KilnBinary.run(["import", base.rootfs.path, "--output", "type=docker,dest=\(archive.path)",
                                         "--tag", "kiln-test/busybox:archive", "--change", #"CMD ["sh"]"#])
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try DockerArchive(file: archive).image()
        let raw = try ExternalTools.json("skopeo", ["inspect", "--raw", "docker-archive:\(archive.path)"])
        let rawConfig = raw["config"] as? [String: Any]
        #expect(rawConfig?["digest"] as? String == (try ours.manifest().config.digest.description))
        let inspected = try ExternalTools.json("skopeo", ["inspect", "docker-archive:\(archive.path)"])
        #expect(inspected["Layers"] as? [String] == (try ours.layers().map(\.diffID.description)))

        // The layout's image, copied by skopeo, keeps its config and diffIDs.
        let copied = scratch.path("copied.tar")
        _ = try ExternalTools.run("skopeo", ["copy", "oci:\(base.layout.path):\(base.refName)", "docker-archive:\(copied.path)"])
        let source = try OCILayout(at: base.layout).image()
        let copy = try DockerArchive(file: copied).image()
        #expect(try copy.rawConfig() == source.rawConfig())
        #expect(try copy.layers().map(\.diffID) == source.layers().map(\.diffID))

        // scripts/test installs podman; its absence is a set-up error, not a reason to pass.
        try #require(ExternalTools.find("podman") != nil, "podman is required for the docker-archive check: apt-get install podman")
        let loaded = try ExternalTools.run("podman", ["load", "-i", archive.path])
        defer { _ = try? ExternalTools.run("podman", ["rmi", "-f", "localhost/kiln-test/busybox:archive"]) }
        #expect((loaded.stdout + loaded.stderr).contains("kiln-test/busybox:archive"))
        let id = try ExternalTools.run("podman", ["image", "inspect", "--format", "{{.Id}}", "localhost/kiln-test/busybox:archive"])
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == (try ours.manifest().config.digest.encoded))
    }

    @Test("skopeo reads a tar of the layout (oci-archive) with the digest kiln import printed")
    func ociArchive() throws {
        let base = try BaseImages.busybox()
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let archive = scratch.path("busybox.oci.tar")
        let result = try KilnBinary.run(["import", base.rootfs.path, "--output", "type=oci,tar=true,dest=\(archive.path)",
                                         "--tag", "busybox:tarred"])
        #expect(result.status == 0, "\(result.stderr)")
        let inspected = try ExternalTools.json("skopeo", ["inspect", "oci-archive:\(archive.path):tarred"])
        #expect(inspected["Digest"] as? String == result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
