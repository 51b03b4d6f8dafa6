import KilnOCI
import KilnStorage

extension RegistryClient {
    /// Makes blob `blob` of `repository` present in `store`: the one path from a registry into
    /// the content store, for base layers and cache hits alike. Nothing is fetched when the store
    /// already holds a blob of that name and size (its digest is checked when it is read); else
    /// the bytes stream in and are verified on the way, so only a whole, matching blob appears
    /// under its name. `progress` gets the bytes received so far, about once per MiB. Returns
    /// whether it downloaded anything.
    @discardableResult
    public nonisolated func fetchBlob(
        _ blob: Descriptor, from repository: String, into store: ContentStore,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws -> Bool {
        if store.size(of: blob.digest) == blob.size { return false }
        try await store.ingest(expected: blob.digest, size: blob.size) { writer in
            var lastReport: Int64 = 0
            try await fetchBlob(blob.digest, size: blob.size, from: repository) { chunk in
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
                // A report per MiB keeps displays live without a callback per network read.
                if writer.byteCount - lastReport >= 1 << 20 {
                    lastReport = writer.byteCount
                    progress(lastReport)
                }
            }
        }
        return true
    }
}
