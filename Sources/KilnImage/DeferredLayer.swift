import KilnOCI
import KilnConcurrency

/// A layer whose blob is elsewhere (a registry cache, a base image's registry): fully
/// described, its bytes fetched only when someone needs them.
///
/// A registry push first asks whether the target repository has the blob or can mount it,
/// and calls ``fetch()`` only when neither works; a writer that needs the bytes (an OCI
/// layout, a docker archive) fetches every deferred layer first (``AssembledImage/fetchingDeferredLayers(limit:)``).
public struct DeferredLayer: Layer {
    /// The blob's descriptor.
    public var descriptor: Descriptor
    /// The uncompressed digest.
    public var diffID: Digest
    private let fetchBlob: @Sendable () async throws -> any Layer

    /// A layer described by `descriptor` and `diffID`, whose blob `fetch` brings into the content store or a local file.
    public init(descriptor: Descriptor, diffID: Digest, fetch: @escaping @Sendable () async throws -> any Layer) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.fetchBlob = fetch
    }

    /// Brings the blob to a local file and returns the layer over it.
    public func fetch() async throws -> any Layer {
        try await fetchBlob()
    }

    /// Always throws: the bytes must be fetched first, asynchronously.
    public func openBlob() throws -> any BlobStream {
        throw ImageError.notFound(path: descriptor.digest.description, reference: "a deferred layer not fetched yet")
    }
}

extension AssembledImage {
    /// The same image with every ``DeferredLayer`` fetched, `limit` at a time; the manifest and
    /// config are unchanged.
    public func fetchingDeferredLayers(limit: Int = 4) async throws -> AssembledImage {
        let all = try layers()
        let deferred = all.enumerated().compactMap { index, layer in (layer as? DeferredLayer).map { (index, $0) } }
        var fetched: [Int: any Layer] = [:]
        try await forEachConcurrently(deferred, limit: limit, { (index, layer) in (index, try await layer.fetch()) },
                                      receive: { fetched[$0.0] = $0.1 })
        if fetched.isEmpty { return self }
        return try replacingLayers(all.enumerated().map { fetched[$0.offset] ?? $0.element })
    }
}
