import KilnImage
import KilnOCI

extension ImagePusher {
    /// Pushes one layer's blob to every repository `references` name, ahead of the image that
    /// will hold it (a build pushes each layer as a step commits it; the manifest comes later,
    /// with ``push(_:to:mountFrom:progress:)``, which then finds the blob present). Skipped where
    /// a repository has it, mounted where a repository of the same registry in `mountFrom`, or
    /// one pushed earlier in this call, does; uploaded otherwise. Nothing is tagged.
    public func pushLayer(_ layer: any Layer, to references: [Reference], mountFrom: [Reference] = [],
                          progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }) async throws {
        var pushedRepositories = mountFrom
        for target in Self.groupedByRepository(references) {
            let first = target[0]
            let client = await pool.client(for: first.registry)
            let sources = pushedRepositories.filter { $0.registry == first.registry }.map(\.repository)
            try await Self.pushLayer(layer, client: client, repository: first.repository, mountSources: sources,
                                     reference: first, progress: progress)
            pushedRepositories.append(first)
        }
    }
}
