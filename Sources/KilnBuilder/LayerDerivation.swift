import Foundation
import KilnArchive
import KilnCache
import KilnOCI
import KilnStorage

/// One layer rewritten into the form an output asks for (compression, timestamps clamped to
/// `SOURCE_DATE_EPOCH`), cached like a step: the key names the source blob and the settings,
/// the entry holds the result. A gzip team and a zstd team share one step cache; each
/// derivation is done once per fleet, wherever it is first needed.
struct LayerDerivation: CacheKeyed, Hashable {
    /// The rewrite.
    var derive: Definition

    struct Definition: Encodable, Hashable, Sendable {
        /// The blob rewritten.
        var source: Digest
        /// The compression written, with the settings that decide its bytes.
        var compression: String
        /// The clamp, if any.
        var clampTime: Int64?
    }

    static let keyExclusions: [KeyExclusion] = []

    /// The settings that decide a compressed layer's bytes.
    static func identity(of compression: LayerCompression) -> String {
        switch compression {
        case .none: return "none"
        case .gzip(let level): return "gzip level \(level)"
        case .parallelGzip(let level, let blockSize, _): return "gzip level \(level) members of \(blockSize) bytes by libdeflate, incompressible ones stored"
        case .zstd(let level): return "zstd level \(level)"
        }
    }
}

extension BuildSession {
    /// The final image's layers in the form the request asks for: every layer a step made is
    /// recompressed when the cache holds it in another compression, and rewritten with its
    /// timestamps clamped when SOURCE_DATE_EPOCH is set. Base image layers are left as they are
    /// (as BuildKit leaves them). Derivations are looked up in the cache all at once; the
    /// missing ones are computed and stored.
    func outputLayers(_ layers: [StageLayer]) async throws -> [StageLayer] {
        let clamp = layering.sourceDateEpoch
        var derivations: [Int: (LayerDerivation, KeyDocument, CacheKey)] = [:]
        for (index, layer) in layers.enumerated() where layering.derivesOutputLayer(layer) {
            let derivation = LayerDerivation(derive: .init(source: layer.descriptor.digest,
                                                           compression: LayerDerivation.identity(of: layering.compression),
                                                           clampTime: clamp))
            let document = try derivation.keyDocument()
            derivations[index] = (derivation, document, CacheKey(document: document))
        }
        guard !derivations.isEmpty else { return layers }
        let hits = await cache.lookup(derivations.values.map(\.2), store: store)
        var result = layers
        for (index, (_, document, key)) in derivations.sorted(by: { $0.key < $1.key }) {
            if let hit = hits[key]?.max(by: { $0.entry.created < $1.entry.created }), let derived = hit.entry.layer {
                await cache.share(hit, blobsIn: store)
                result[index] = StageLayer(derived, origin: hit.isLocal ? nil : .cache(hit), madeByStep: true, step: layers[index].step)
                continue
            }
            let source = layers[index]
            try await ensureBlobs([source], for: nil)
            // Written beside the store, not into its ingest file: the rewriter reads a store blob,
            // and a corrupt one's quarantine takes the lock an ingest holds (see ContentStore.ingest(writingFile:)).
            let output = scratch.appendingPathComponent("derived-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            let rewriter = LayerRewriter(compression: layering.compression, clampTime: clamp)
            let store = store
            let usedBy = source.usage(at: index, of: "the image being exported")
            // The rewriter reads the source through the store's verifying reader: a corrupt blob
            // fails (named, quarantined) before its derivation is stored.
            let gate = store.reserve.gate(for: scratch, writing: "recompressing layer \(source.descriptor.digest)")
            let written = try await onOwnThread(closing: gate) {
                try store.readingVerified(source.descriptor.digest, size: source.descriptor.size, usedBy: usedBy) { reader in
                    try rewriter.rewrite(reader, name: source.descriptor.digest.description, to: output, gate: gate)
                }
            }
            try await store.ingest(contentsOf: output, expected: written.digest, size: written.size)
            let derived = CachedLayer(descriptor: Descriptor(mediaType: written.mediaType, digest: written.digest, size: written.size),
                                      diffID: written.diffID)
            try await cache.store(CacheEntry(key: key, layer: derived, definition: document, created: created), blobsIn: store)
            result[index] = StageLayer(derived, madeByStep: true, step: source.step)
        }
        return result
    }
}
