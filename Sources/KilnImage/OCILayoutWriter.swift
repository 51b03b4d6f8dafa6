import Foundation
import KilnArchive
import KilnStorage
import KilnOCI
#if canImport(Glibc)
import Glibc
#endif

/// Writes images into OCI image layouts: a directory (created, or added to) or a tar of one.
///
/// Every file is written under a temporary name and renamed into place, blobs only after their
/// digest checks out, `index.json` last; a new layout is built in a temporary directory and
/// renamed as a whole. A failure therefore leaves the previous layout (or nothing), never a
/// half-written blob or index.
///
/// Synchronous: call it from a thread of its own, not the cooperative pool.
public struct OCILayoutWriter: Sendable {
    /// Passed per chunk of every blob copied: closing it (a cancelled build) stops the write,
    /// leaving the previous layout (or nothing).
    public let gate: WriteGate

    /// Creates a writer that passes `gate` as it copies.
    public init(gate: WriteGate = .unbounded) {
        self.gate = gate
    }

    /// Adds `image` to the layout directory `directory` under `refName`, replacing any image
    /// already listed under that name; creates the layout when `directory` does not exist or is
    /// empty. Returns the index entry written.
    @discardableResult
    public func write(_ image: any Image, to directory: URL, refName: String?) throws -> Descriptor {
        try write(try ImageBlobs(image), entry: try indexEntry(for: image, refName: refName), to: directory)
    }

    /// Adds `index` and its images to the layout directory `directory`, the index listed under
    /// `refName` (replacing whatever was listed under that name); the images are reachable
    /// through the index only, as a registry holds them. Creates the layout as an image write
    /// does. Returns the index entry written.
    @discardableResult
    public func write(_ index: AssembledIndex, to directory: URL, refName: String?) throws -> Descriptor {
        try write(try ImageBlobs(index), entry: index.descriptor(annotations: refName.map { [AnnotationKey.refName: $0] } ?? [:]),
                  to: directory)
    }

    private func write(_ blobs: ImageBlobs, entry: Descriptor, to directory: URL) throws -> Descriptor {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw ImageError.malformed(path: directory.path, reason: "exists and is not a directory")
        }
        let isEmpty = exists && (try? fileManager.contentsOfDirectory(atPath: directory.path).isEmpty) == true
        if exists && !isEmpty {
            try add(blobs, entry: entry, to: directory)
            return entry
        }
        // A new layout appears whole or not at all: build it beside the destination, then rename.
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).kiln-tmp-\(UUID().uuidString)")
        guard mkdir(staging.path, 0o755) == 0 else { throw ImageError.lastSystemError("mkdir", staging.path) }
        do {
            try StagedFile.write(try CanonicalJSON.encode(ImageLayout()), to: staging.appendingPathComponent(ImageLayout.fileName))
            try add(blobs, entry: entry, to: staging)
            if isEmpty { try fileManager.removeItem(at: directory) }
            guard rename(staging.path, directory.path) == 0 else { throw ImageError.lastSystemError("rename", directory.path) }
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
        return entry
    }

    /// Writes a tar of a layout holding only `image` (under `refName`) to `file`, replacing it.
    @discardableResult
    public func writeArchive(_ image: any Image, to file: URL, refName: String?) throws -> Descriptor {
        let blobs = try ImageBlobs(image)
        let entry = try indexEntry(for: image, refName: refName)
        let output = try StagedFile(destination: file)
        let tar = TarArchiveWriter(output: output, gate: gate)
        try tar.addFile(ImageLayout.fileName, data: try CanonicalJSON.encode(ImageLayout()))
        try tar.addFile(ImageLayout.indexFileName, data: try CanonicalJSON.encode(Index(manifests: [entry])))
        try tar.addDirectory(ImageLayout.blobsDirectoryName)
        try tar.addDirectory("\(ImageLayout.blobsDirectoryName)/sha256")
        for blob in blobs.blobs {
            let digest = try tar.addFile(Self.blobPath(blob.descriptor.digest), size: blob.descriptor.size, from: try blob.open())
            guard digest == blob.descriptor.digest else { throw ImageError.digestMismatch(expected: blob.descriptor.digest, actual: digest) }
        }
        try tar.finish()
        try output.commit()
        return entry
    }

    /// `blobs/<algorithm>/<encoded>`.
    static func blobPath(_ digest: Digest) -> String {
        "\(ImageLayout.blobsDirectoryName)/\(digest.algorithm)/\(digest.encoded)"
    }

    private func indexEntry(for image: any Image, refName: String?) throws -> Descriptor {
        var descriptor = try image.manifestDescriptor(annotations: refName.map { [AnnotationKey.refName: $0] } ?? [:])
        let platform = try image.config().platform
        descriptor.platform = platform
        return descriptor
    }

    /// Copies the blobs that are missing into `layout`, then rewrites its index.
    private func add(_ blobs: ImageBlobs, entry: Descriptor, to layout: URL) throws {
        let header = layout.appendingPathComponent(ImageLayout.fileName)
        guard FileManager.default.fileExists(atPath: header.path) else {
            throw ImageError.malformed(path: layout.path, reason: "is not empty and has no oci-layout file")
        }
        // Two writers adding to one layout must not lose each other's index entries: hold an
        // advisory lock on the layout directory itself (no lock file to litter the layout).
        let lock = open(layout.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else { throw ImageError.lastSystemError("open", layout.path) }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ImageError.lastSystemError("flock", layout.path) }
        }
        let blobDirectory = layout.appendingPathComponent("\(ImageLayout.blobsDirectoryName)/sha256")
        try FileManager.default.createDirectory(at: blobDirectory, withIntermediateDirectories: true)
        for blob in blobs.blobs {
            try store(blob, in: layout)
        }
        let indexFile = layout.appendingPathComponent(ImageLayout.indexFileName)
        var manifests: [Descriptor] = []
        if FileManager.default.fileExists(atPath: indexFile.path) {
            do { manifests = try Index(validating: Data(contentsOf: indexFile)).manifests } catch {
                throw ImageError.malformed(path: indexFile.path, reason: "\(error)")
            }
        }
        if let refName = entry.annotations[AnnotationKey.refName] {
            manifests.removeAll { $0.annotations[AnnotationKey.refName] == refName }
        }
        manifests.append(entry)
        try StagedFile.write(try CanonicalJSON.encode(Index(manifests: manifests)), to: indexFile)
    }

    /// Writes one blob unless an intact copy is already there; the digest is checked before the rename.
    ///
    /// Always a copy, never a hard link to Kiln's content store: a layout is the user's to edit,
    /// and an edit to a linked blob would corrupt the store and every earlier output. The copy
    /// reads the bytes anyway, so a store blob is verified in the same pass (its stream checks
    /// itself at the end, before the rename). A blob already in the layout is kept only when it
    /// hashes to its name, or carries Kiln's seal from when it last did (``LayoutBlobSeal``).
    private func store(_ blob: ImageBlobs.Blob, in layout: URL) throws {
        let destination = layout.appendingPathComponent(Self.blobPath(blob.descriptor.digest))
        // Sealed when Kiln wrote or verified it, and untouched since: no need to read it again.
        if LayoutBlobSeal.holds(destination.path, digest: blob.descriptor.digest, size: blob.descriptor.size) { return }
        if let existing = try? FileRegion(wholeFile: destination), existing.length == blob.descriptor.size,
           (try? existing.open().measure().digest) == blob.descriptor.digest {
            LayoutBlobSeal.seal(destination.path, digest: blob.descriptor.digest)
            return
        }
        let file = try StagedFile(destination: destination)
        let (digest, size) = try blob.open().forEachChunk {
            try gate.passBytes($0.count)
            try file.write($0)
        }
        guard digest == blob.descriptor.digest, size == blob.descriptor.size else {
            throw ImageError.digestMismatch(expected: blob.descriptor.digest, actual: digest)
        }
        try file.commit()
        LayoutBlobSeal.seal(destination.path, digest: blob.descriptor.digest)
    }
}
