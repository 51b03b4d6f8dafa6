import Foundation
import KilnArchive
import KilnCache
import KilnOCI
import KilnStorage

/// `kiln build --squash`: the layers the target stage's own steps made, as one layer on top of
/// the layers it inherited from its `FROM`, cached like the other output transforms: the key
/// names the layers kept below and the layers squashed, by content.
///
/// Squashing comes after the stage is built, so every step keeps its own cache entry: a
/// squashed and an unsquashed build of the same Dockerfile share one step cache, and a change
/// to the last step re-runs that step only, then squashes again.
struct LayerSquash: CacheKeyed, Hashable {
    /// The squash.
    var squash: Definition

    struct Definition: Encodable, Hashable, Sendable {
        /// The chain ID of the layers kept as they are (the empty filesystem's identity for `scratch`).
        var below: Digest
        /// The diffIDs of the layers squashed, bottom first.
        var layers: [Digest]
    }

    static let keyExclusions: [KeyExclusion] = []
}

extension BuildSession {
    /// `outcome` with the layers its own steps made squashed into one on top of the layers it
    /// inherited (Docker's `--squash`). The inherited layers and history entries stay as they
    /// are; its own history entries all stay, marked `empty_layer` but for the last one that made
    /// a layer, which carries the squashed one. Nothing else of the config changes.
    ///
    /// The squashed layer is the difference between the inherited filesystem and the stage's
    /// final one, found by applying the own layers in order onto a working rootfs of the
    /// inherited ones and taking its changes, exactly as a step's layer is found. That is simpler
    /// than merging the tars and right by construction: a file made by one step and removed by a
    /// later one is simply not there (no whiteout), a removed base file is a whiteout, a
    /// directory replaced over several steps comes out once.
    func squashed(_ outcome: StageOutcome) async throws -> StageOutcome {
        let inherited = Array(outcome.layers.prefix(outcome.inherited.layers))
        let own = Array(outcome.layers.dropFirst(outcome.inherited.layers))
        // One layer is its own squash.
        guard own.count > 1 else { return outcome }
        let definition = LayerSquash(squash: .init(below: ChainID.of(inherited.map(\.diffID)) ?? StageRunner.scratchIdentity,
                                               layers: own.map(\.diffID)))
        let document = try definition.keyDocument()
        let key = CacheKey(document: document)
        let squashed: StageLayer?
        if let hit = await cache.lookup([key], store: store)[key]?.max(by: { $0.entry.created < $1.entry.created }) {
            await cache.share(hit, blobsIn: store)
            squashed = hit.entry.layer.map { StageLayer($0, origin: hit.isLocal ? nil : .cache(hit), madeByStep: true, step: Self.squashStep) }
        } else {
            let layer = try await squashing(own, onto: inherited)
            try await cache.store(CacheEntry(key: key, layer: layer, definition: document, created: created), blobsIn: store)
            squashed = layer.map { StageLayer($0, madeByStep: true, step: Self.squashStep) }
        }

        var result = outcome
        result.layers = inherited + (squashed.map { [$0] } ?? [])
        let ownHistory = outcome.inherited.history..<result.config.history.count
        let carrier = ownHistory.last { !result.config.history[$0].emptyLayer }
        for index in ownHistory { result.config.history[index].emptyLayer = !(squashed != nil && index == carrier) }
        return result
    }

    /// How errors name the squashed layer.
    private static let squashStep = "--squash"

    /// Applies `own` in order onto a working rootfs of `inherited` and writes what changed as one
    /// layer; nil when the layers cancel out.
    private func squashing(_ own: [StageLayer], onto inherited: [StageLayer]) async throws -> CachedLayer? {
        try await ensureBlobs(own, for: nil)
        var working = try await WorkingRootfs.open(inherited, for: nil, session: self)
        defer { working.release() }
        try working.beginStep()
        let store = store
        let path = working.path
        for (offset, layer) in own.enumerated() {
            let usedBy = layer.usage(at: inherited.count + offset, of: "the image being squashed")
            let gate = store.reserve.gate(for: scratch, writing: "squashing layer \(layer.descriptor.digest)")
            _ = try await onOwnThread(closing: gate) {
                try store.applyLayer(layer.descriptor.digest, to: path, gate: gate, usedBy: usedBy)
            }
        }
        return try await working.commit(session: self)
    }
}
