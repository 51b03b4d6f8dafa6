import Foundation
import KilnOCI
@testable import KilnCache

/// A small keyed definition for the cache's own tests, shaped like the builder's (a parent, a
/// platform, one operation member).
struct SampleStep: CacheKeyed, Hashable {
    var parent: Digest?
    var platform = "linux/amd64"
    var buildArgs: [String: String] = [:]
    var run: Run?

    struct Run: Encodable, Hashable {
        var instruction: String
        var arguments: [String]
        var environment: [String] = []
        var proxyEnvironment: [String] = []
        var user = ""
    }

    static let keyExclusions = [
        KeyExclusion("run.instruction", because: "display"),
        KeyExclusion("run.proxyEnvironment", because: "a route, not content"),
    ]

    /// `RUN <text>` on `parent`.
    static func run(_ text: String, parent: Digest? = nil, env: [String] = [], args: [String: String] = [:]) -> SampleStep {
        SampleStep(parent: parent, buildArgs: args,
                   run: Run(instruction: "RUN " + text, arguments: ["/bin/sh", "-c", text], environment: env))
    }

    /// The document the key hashes.
    var document: KeyDocument { try! keyDocument() }
    /// The key.
    var key: CacheKey { CacheKey(document: document) }

    /// An entry for this step.
    func entry(layer: CachedLayer? = nil, basis: [String: Digest] = [:], created: String = "2026-11-22T00:00:00Z",
               files: [String: String]? = nil) -> CacheEntry {
        CacheEntry(key: key, layer: layer, definition: document, basis: basis, created: created, sourceFiles: files)
    }
}
