import Foundation
import KilnArchive
import KilnImage
import KilnOCI

/// The work of one `kiln import` once its options are checked: tar the tree into a layer in a
/// scratch directory, assemble the image, write it out. Blocking; run it with `onOwnThread`.
struct ImportJob: Sendable {
    var source: URL
    var sourceIsDirectory: Bool
    var output: OutputSpec
    var compression: LayerCompression
    var sourceDateEpoch: Int64?
    var platform: Platform
    var containerConfig: ContainerConfig
    var reference: Reference
    var refName: String

    /// Writes the image and returns its manifest digest. The scratch directory goes in every case.
    func perform() throws -> Digest {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: scratch) }

        var root = source
        if !sourceIsDirectory {
            // Unpacked and written again, so the layer is normalised (order, owners' names, times)
            // whatever tool made the tarball.
            var tarball = source
            if source.path == "/dev/stdin" {
                // A pipe can be read once only, and the applier wants a file it can open by path.
                tarball = scratch.appendingPathComponent("stdin.tar")
                try Self.copyStandardInput(to: tarball)
            }
            root = scratch.appendingPathComponent("rootfs")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false)
            do { _ = try LayerApplier().apply(layer: tarball, to: root) } catch {
                throw CommandFailure("cannot import \(source.path): not a directory or a readable tarball (\(error))")
            }
        }
        let layerFile = scratch.appendingPathComponent("layer")
        let written = try LayerWriter(compression: compression, sourceDateEpoch: sourceDateEpoch)
            .write(directory: root, to: layerFile)
        let layer = FileLayer(
            descriptor: Descriptor(mediaType: written.mediaType, digest: written.digest, size: written.size),
            diffID: written.diffID, region: try FileRegion(wholeFile: layerFile))

        let created = RFC3339.string(from: sourceDateEpoch.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date())
        // The history names the kind of source, not its path, so the same tree imported from two
        // places gives the same image.
        let history = History(created: created, createdBy: "kiln import",
                              comment: "Imported from a \(sourceIsDirectory ? "directory" : "tarball")")
        let config = ImageConfig(platform: platform, created: created, config: containerConfig, history: [history])
        let image = try AssembledImage(config: config, layers: [layer])
        do {
            switch output.kind {
            case .oci where output.tar:
                try OCILayoutWriter().writeArchive(image, to: output.destination, refName: refName)
            case .oci:
                try OCILayoutWriter().write(image, to: output.destination, refName: refName)
            case .docker:
                try DockerArchiveWriter().write(image, repoTags: [reference.description], to: output.destination)
            }
        } catch {
            throw CommandFailure("cannot write \(output.destination.path): \(error)")
        }
        return try image.digest()
    }

    private static func copyStandardInput(to file: URL) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CommandFailure("cannot create \(file.path)")
        }
        let output = try FileHandle(forWritingTo: file)
        defer { try? output.close() }
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            try output.write(contentsOf: chunk)
        }
    }
}
