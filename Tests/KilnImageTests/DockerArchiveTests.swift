import Foundation
import KilnArchive
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

@Suite("docker-archive")
struct DockerArchiveTests {
    @Test("compressed layers are stored as plain tars named by diffID, and read back", arguments: [
        LayerCompression.gzip(), .zstd(), .none,
    ])
    func roundTrip(compression: LayerCompression) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a"), try scratch.makeTree("b", seed: "b")],
                                            in: scratch, compression: compression)
        let file = scratch.path("image.tar")
        try DockerArchiveWriter().write(image, repoTags: ["example.com/team/app:1.0", "busybox"], to: file)

        let archive = try DockerArchive(file: file)
        #expect(archive.entries.count == 1)
        #expect(archive.entries[0].repoTags == ["example.com/team/app:1.0", "busybox:latest"])
        let diffIDs = try image.layers().map(\.diffID)
        #expect(archive.entries[0].layers == diffIDs.map { "\($0.encoded).tar" })

        let read = try archive.image(tag: "docker.io/library/busybox:latest")
        #expect(try read.rawConfig() == image.rawConfig())
        let manifest = try read.manifest()
        #expect(manifest.mediaType == .dockerManifest)
        #expect(manifest.layers.map(\.digest) == diffIDs)
        #expect(manifest.layers.allSatisfy { $0.mediaType == .dockerLayer })
        for layer in try read.layers() {
            #expect(try layer.openBlob().measure().digest == layer.diffID)
        }
        let listing = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/tar"), ["-tf", file.path]).stdout
            .split(separator: "\n").sorted()
        #expect(listing.contains("manifest.json") && listing.contains("repositories"))
        #expect(scratch.entries().filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test("compressed layers in an archive (docker save never writes them) get one media-type family: Docker's, OCI's with zstd",
          arguments: [(LayerCompression.gzip(), MediaTypeFamily.docker), (.zstd(), .oci)])
    func compressedLayersOneFamily(compression: LayerCompression, family: MediaTypeFamily) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let gzipped = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch, compression: .gzip())
        let other = try ImageFixtures.image(trees: [try scratch.makeTree("b", seed: "b")], in: scratch, compression: compression)
        let layers = try gzipped.layers() + other.layers()
        let image = try AssembledImage(config: try gzipped.config(), layers: layers)
        // An archive as another tool could write it: the blobs as they are, compressed.
        let contents = scratch.path("contents")
        try FileManager.default.createDirectory(at: contents, withIntermediateDirectories: true)
        try image.rawConfig().write(to: contents.appendingPathComponent("config.json"))
        for (index, layer) in layers.enumerated() {
            var data = Data()
            _ = try layer.openBlob().forEachChunk { data.append(contentsOf: $0) }
            try data.write(to: contents.appendingPathComponent("\(index).tar"))
        }
        let entry = #"[{"Config":"config.json","RepoTags":["example.com/app:1"],"Layers":["0.tar","1.tar"]}]"#
        try Data(entry.utf8).write(to: contents.appendingPathComponent("manifest.json"))
        let file = scratch.path("image.tar")
        _ = try ProcessRunner.checked(URL(fileURLWithPath: "/usr/bin/tar"), ["-C", contents.path, "-cf", file.path,
                                                                            "manifest.json", "config.json", "0.tar", "1.tar"])

        let manifest = try DockerArchive(file: file).image().manifest()
        #expect(manifest.mediaType == family.manifest)
        #expect(manifest.config.mediaType == family.config)
        #expect(try manifest.layers.map(\.mediaType) == layers.map { try family.layer($0.descriptor.mediaType) })
        #expect(manifest.layers.map(\.digest) == layers.map(\.descriptor.digest))
    }

    @Test("a layer whose content does not hash to its diffID fails the write and leaves no file")
    func corruptLayer() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let good = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch, compression: .none)
        let bad = try AssembledImage(config: good.config(), layers: [CorruptLayer(claiming: try #require(good.layers().first))])
        let before = scratch.entries()
        #expect(throws: ImageError.self) { try DockerArchiveWriter().write(bad, repoTags: ["x:y"], to: scratch.path("x.tar")) }
        #expect(scratch.entries() == before)
    }

    @Test("tags with a digest are refused")
    func digestTag() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let tag = "x@sha256:" + String(repeating: "a", count: 64)
        #expect(throws: ImageError.self) { try DockerArchiveWriter().write(image, repoTags: [tag], to: scratch.path("x.tar")) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("x.tar").path))
    }

    @Test("archives written by GNU tar with PAX long names and ./ prefixes are indexed")
    func foreignTar() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let written = scratch.path("written.tar")
        try DockerArchiveWriter().write(image, repoTags: ["x:y"], to: written)
        // Unpack and re-pack with GNU tar in PAX format, adding a file with a 150-character name.
        let unpacked = scratch.path("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let tar = URL(fileURLWithPath: "/usr/bin/tar")
        #expect(try ProcessRunner.run(tar, ["-xf", written.path, "-C", unpacked.path]).status == 0)
        try Data("x".utf8).write(to: unpacked.appendingPathComponent(String(repeating: "n", count: 150)))
        let repacked = scratch.path("repacked.tar")
        #expect(try ProcessRunner.run(tar, ["--format=pax", "-cf", repacked.path, "-C", unpacked.path, "."]).status == 0)

        let read = try DockerArchive(file: repacked).image()
        #expect(try read.digest() == (try DockerArchive(file: written).image().digest()))
        #expect(try read.layers().first?.openBlob().measure().digest == image.layers().first?.diffID)
    }

    @Test("a layer stored as a symlink to another entry, as older docker save writes repeated layers, is followed")
    func symlinkedLayer() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let image = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch, compression: .none)
        let written = scratch.path("written.tar")
        try DockerArchiveWriter().write(image, repoTags: ["x:y"], to: written)
        let unpacked = scratch.path("unpacked")
        try FileManager.default.createDirectory(at: unpacked.appendingPathComponent("legacy"), withIntermediateDirectories: true)
        let tar = URL(fileURLWithPath: "/usr/bin/tar")
        #expect(try ProcessRunner.run(tar, ["-xf", written.path, "-C", unpacked.path]).status == 0)
        let layerName = "\(try #require(image.layers().first).diffID.encoded).tar"
        try FileManager.default.createSymbolicLink(atPath: unpacked.appendingPathComponent("legacy/layer.tar").path,
                                                   withDestinationPath: "../\(layerName)")
        let manifestURL = unpacked.appendingPathComponent("manifest.json")
        let manifest = try String(contentsOf: manifestURL, encoding: .utf8)
            .replacingOccurrences(of: "\"\(layerName)\"", with: "\"legacy/layer.tar\"")
        try Data(manifest.utf8).write(to: manifestURL)
        let repacked = scratch.path("repacked.tar")
        #expect(try ProcessRunner.run(tar, ["-cf", repacked.path, "-C", unpacked.path, "."]).status == 0)

        let read = try DockerArchive(file: repacked)
        #expect(read.entries.first?.layers == ["legacy/layer.tar"])
        #expect(try read.image().layers().first?.openBlob().measure().digest == image.layers().first?.diffID)
    }

    @Test("a compressed tarball and a file that is not a tar give clear errors")
    func notATar() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let junk = scratch.path("junk.tar")
        try Data(repeating: 0x41, count: 2048).write(to: junk)
        #expect(throws: ImageError.self) { try DockerArchive(file: junk) }
        try Data([0x1f, 0x8b] + [UInt8](repeating: 0, count: 1022)).write(to: junk)
        let error = try #require(throws: ImageError.self) { try DockerArchive(file: junk) }
        #expect(error.description.contains("compressed"))
    }
}
