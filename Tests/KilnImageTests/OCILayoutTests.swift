import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

@Suite("OCI image layout")
struct OCILayoutTests {
    @Test("an image written to a new layout reads back with the same digest, config and layers")
    func roundTrip() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a"), try scratch.makeTree("b", seed: "b")], in: scratch)
        let layoutURL = scratch.path("layout")
        let entry = try OCILayoutWriter().write(image, to: layoutURL, refName: "v1")

        #expect(entry.annotations[AnnotationKey.refName] == "v1")
        #expect(entry.platform == Platform(os: "linux", architecture: "amd64"))
        let read = try OCILayout(at: layoutURL).image(reference: "v1")
        #expect(try read.digest() == image.digest())
        #expect(try read.rawConfig() == image.rawConfig())
        let layers = try read.layers()
        #expect(layers.map(\.diffID) == (try image.layers().map(\.diffID)))
        for layer in layers {
            #expect(try layer.openBlob().measure().digest == layer.descriptor.digest)
            #expect(try layer.openUncompressed().measure().digest == layer.diffID)
        }
        #expect(scratch.entries().filter { $0.hasPrefix(".") }.isEmpty)
        #expect(scratch.entries("layout/blobs/sha256").count == 4)
    }

    @Test("adding an image under an existing name replaces that entry and keeps the others")
    func replaceSameName() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let first = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch, cmd: ["one"])
        let second = try ImageFixtures.image(trees: [try scratch.makeTree("b", seed: "b")], in: scratch, cmd: ["two"])
        let layoutURL = scratch.path("layout")
        try OCILayoutWriter().write(first, to: layoutURL, refName: "latest")
        try OCILayoutWriter().write(first, to: layoutURL, refName: "stable")
        try OCILayoutWriter().write(second, to: layoutURL, refName: "latest")

        let layout = try OCILayout(at: layoutURL)
        let names = try layout.index().manifests.compactMap { $0.annotations[AnnotationKey.refName] }
        #expect(names.sorted() == ["latest", "stable"])
        #expect(try layout.image(reference: "latest").digest() == second.digest())
        #expect(try layout.image(reference: "stable").digest() == first.digest())
        #expect(throws: ImageError.self) { try layout.image() }
        #expect(throws: ImageError.self) { try layout.image(reference: "missing") }
    }

    @Test("a tar of a layout reads like the directory")
    func archive() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch, compression: .zstd())
        let file = scratch.path("layout.tar")
        try OCILayoutWriter().writeArchive(image, to: file, refName: "latest")

        let read = try OCILayout(at: file).image(reference: "latest")
        #expect(try read.digest() == image.digest())
        let layer = try #require(try read.layers().first)
        #expect(try layer.openUncompressed().measure().digest == layer.diffID)
        let listing = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-tf", file.path]).stdout
        #expect(listing.contains("oci-layout") && listing.contains("index.json") && listing.contains("blobs/sha256/"))
    }

    @Test("a blob that does not match its digest fails the write and leaves no layout or temporary file")
    func corruptBlobNewLayout() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let good = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let bad = try AssembledImage(config: good.config(), layers: [CorruptLayer(claiming: try #require(good.layers().first))])
        let before = scratch.entries()
        #expect(throws: ImageError.self) { try OCILayoutWriter().write(bad, to: scratch.path("layout"), refName: "x") }
        #expect(throws: ImageError.self) { try OCILayoutWriter().writeArchive(bad, to: scratch.path("x.tar"), refName: "x") }
        #expect(scratch.entries() == before)
    }

    @Test("a failed addition to an existing layout leaves its index and blobs as they were")
    func corruptBlobExistingLayout() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let good = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let other = try ImageFixtures.image(trees: [try scratch.makeTree("b", seed: "b")], in: scratch)
        let layoutURL = scratch.path("layout")
        try OCILayoutWriter().write(good, to: layoutURL, refName: "latest")
        let index = try Data(contentsOf: layoutURL.appendingPathComponent("index.json"))
        let blobs = scratch.entries("layout/blobs/sha256")

        let bad = try AssembledImage(config: other.config(), layers: [CorruptLayer(claiming: try #require(other.layers().first))])
        #expect(throws: ImageError.self) { try OCILayoutWriter().write(bad, to: layoutURL, refName: "latest") }
        #expect(try Data(contentsOf: layoutURL.appendingPathComponent("index.json")) == index)
        #expect(scratch.entries("layout/blobs/sha256") == blobs)
        #expect(scratch.entries("layout") == ["blobs", "index.json", "oci-layout"])
    }

    @Test("a non-empty directory that is not a layout is refused")
    func notALayout() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        #expect(throws: ImageError.self) { try OCILayoutWriter().write(image, to: scratch.path("a"), refName: "x") }
        #expect(throws: ImageError.self) { try OCILayout(at: scratch.path("a")) }
    }

    @Test("a name pointing at an index resolves to the manifest for this machine's platform")
    func nestedIndex() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let layoutURL = scratch.path("layout")
        try OCILayoutWriter().write(image, to: layoutURL, refName: "single")
        var entry = try image.manifestDescriptor()
        entry.platform = Platform.host
        let nested = try CanonicalJSON.blob(Index(manifests: [entry]))
        try nested.bytes.write(to: layoutURL.appendingPathComponent("blobs/sha256/\(nested.digest.encoded)"))
        let top = Index(manifests: [nested.descriptor(mediaType: .ociIndex, annotations: [AnnotationKey.refName: "multi"])])
        try CanonicalJSON.encode(top).write(to: layoutURL.appendingPathComponent("index.json"))

        #expect(try OCILayout(at: layoutURL).image(reference: "multi").digest() == image.digest())
    }

    @Test("a layer repeated in one image is stored once and listed twice")
    func repeatedLayer() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("a")
        let image = try ImageFixtures.image(trees: [tree, tree], in: scratch, compression: .none)
        try OCILayoutWriter().write(image, to: scratch.path("layout"), refName: "x")
        #expect(scratch.entries("layout/blobs/sha256").count == 3)
        let docker = scratch.path("docker.tar")
        try DockerArchiveWriter().write(image, repoTags: ["x:y"], to: docker)
        let read = try DockerArchive(file: docker).image()
        #expect(read.entry.layers.count == 2 && Set(read.entry.layers).count == 1)
        #expect(try read.layers().map(\.diffID) == image.layers().map(\.diffID))
    }
}
