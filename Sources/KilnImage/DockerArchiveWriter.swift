import Foundation
import KilnArchive
import KilnStorage
import KilnOCI

/// Writes an image as a docker-archive, the tarball `docker save` writes and `docker load`,
/// `podman load` and skopeo read: `manifest.json`, `repositories`, the config as
/// `<config hex>.json` and each layer as an uncompressed `<diffID hex>.tar`.
///
/// The archive is written under a temporary name and renamed when complete. Compressed layers
/// are decompressed to a temporary file first, because a tar header needs the size up front.
///
/// Synchronous: call it from a thread of its own, not the cooperative pool.
public struct DockerArchiveWriter: Sendable {
    /// Passed per chunk of every layer written: closing it (a cancelled build) stops the write,
    /// leaving no archive.
    public let gate: WriteGate

    /// Creates a writer that passes `gate` as it writes.
    public init(gate: WriteGate = .unbounded) {
        self.gate = gate
    }

    /// Writes `image` to `file` (replacing it), tagged with `repoTags` (any reference form;
    /// written in Docker's familiar form, e.g. `busybox:latest`).
    public func write(_ image: any Image, repoTags: [String], to file: URL) throws {
        let tags = try repoTags.map { tag -> Reference in
            let reference = try Reference(parsing: tag)
            guard reference.digest == nil, reference.tag != nil else {
                throw ImageError.malformed(path: tag, reason: "a docker-archive tag must be name:tag, without a digest")
            }
            return reference
        }
        let config = try image.rawConfig()
        let configDigest = Digest.sha256(of: config)
        let layers = try image.layers()
        let output = try StagedFile(destination: file)
        let tar = TarArchiveWriter(output: output, gate: gate)
        let configPath = "\(configDigest.encoded).json"
        try tar.addFile(configPath, data: config)
        var written: Set<Digest> = []
        for layer in layers where written.insert(layer.diffID).inserted {
            try add(layer, to: tar, scratchBeside: file)
        }
        let entry = DockerArchiveManifestEntry(config: configPath, repoTags: tags.map(\.familiarString),
                                               layers: layers.map { "\($0.diffID.encoded).tar" })
        try tar.addFile("manifest.json", data: try CanonicalJSON.encode([entry]))
        var repositories: [String: [String: String]] = [:]
        for tag in tags {
            repositories[tag.familiarName, default: [:]][tag.tag!] = layers.last?.diffID.encoded ?? configDigest.encoded
        }
        try tar.addFile("repositories", data: try CanonicalJSON.encode(repositories))
        try tar.finish()
        try output.commit()
    }

    /// Adds `layer` as a plain tar, checking that its content hashes to its diffID.
    private func add(_ layer: any Layer, to tar: TarArchiveWriter, scratchBeside file: URL) throws {
        let path = "\(layer.diffID.encoded).tar"
        if layer.isUncompressed {
            let digest = try tar.addFile(path, size: layer.descriptor.size, from: try layer.openBlob())
            guard digest == layer.diffID else { throw ImageError.digestMismatch(expected: layer.diffID, actual: digest) }
            return
        }
        // Never committed: the scratch file removes itself when it goes out of scope.
        let scratch = try StagedFile(destination: file)
        let (digest, size) = try layer.openUncompressed().forEachChunk {
            try gate.passBytes($0.count)
            try scratch.write($0)
        }
        guard digest == layer.diffID else { throw ImageError.digestMismatch(expected: layer.diffID, actual: digest) }
        try tar.addFile(path, size: size, from: FileRegion(file: scratch.temporary, offset: 0, length: size).open())
    }
}
