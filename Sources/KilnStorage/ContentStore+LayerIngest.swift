import Foundation
import KilnArchive

extension ContentStore {
    /// Writes a layer straight into the store's ingest file and stores it under the digest the
    /// writer computed on the way: the compressed bytes are written once, never to a scratch
    /// file that is then copied in. `write` gets the file to create and the gate to pass (the
    /// disk reserve of the store's filesystem; closed when the task is cancelled); `doing`
    /// names the work in the reserve's error. Runs on a thread of its own.
    public func ingestLayer(
        doing: String, _ write: @escaping @Sendable (URL, WriteGate) throws -> LayerWriteResult
    ) async throws -> LayerWriteResult {
        let gate = reserve.gate(for: directory, writing: doing)
        let store = self
        return try await onOwnThread(closing: gate) {
            var result: LayerWriteResult?
            try store.ingest(writingFile: { file in
                let written = try write(file, gate)
                result = written
                return StoredBlob(digest: written.digest, size: written.size)
            })
            guard let result else { preconditionFailure("ingest(writingFile:) returned without writing") }
            return result
        }
    }
}
