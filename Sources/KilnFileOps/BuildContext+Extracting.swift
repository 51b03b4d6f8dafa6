import Foundation

extension BuildContext {
    /// The context of `kiln build -`: a tar (plain or compressed) read from `tarStream` and
    /// extracted into `scratch/context`, every path kept inside it. The stream is spooled to
    /// `scratch` first (never held in memory) and the spool removed afterwards. The
    /// Dockerfile is the archive's `Dockerfile` when it has one.
    public static func extracting(tarStream: FileHandle, into scratch: URL) async throws -> BuildContext {
        let directory = scratch.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let spool = scratch.appendingPathComponent("context-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: spool) }
        try await Task.detached {
            guard FileManager.default.createFile(atPath: spool.path, contents: nil) else {
                throw FileOperationError("cannot create \(spool.path)")
            }
            let out = try FileHandle(forWritingTo: spool)
            defer { try? out.close() }
            while let chunk = try tarStream.read(upToCount: 1 << 20), !chunk.isEmpty {
                try out.write(contentsOf: chunk)
            }
            try out.close()
            guard TarArchive.filter(ofArchiveAt: spool.path) != nil else {
                throw FileOperationError("the context on standard input is not a tar archive")
            }
            try TarArchive.extract(spool.path, into: directory, scratch: scratch)
        }.value
        let dockerfile = directory.appendingPathComponent("Dockerfile")
        return try BuildContext(directory: directory,
                                dockerfile: FileManager.default.fileExists(atPath: dockerfile.path) ? dockerfile : nil)
    }
}
