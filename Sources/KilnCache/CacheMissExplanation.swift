import KilnOCI

/// Why a step missed the cache: which input differs from the closest earlier entry.
///
/// The closest entry is one for the same kind of step on the same parent (the same place in
/// the same chain, as in the previous build); failing that, the same instruction on another
/// parent (an earlier step changed); failing that, there is nothing to compare with.
public struct CacheMissExplanation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The entry compared with, if any.
    public var closest: CacheKey?
    /// One line per differing input, most telling first.
    public var differences: [String]

    /// Compares `miss` (and, for COPY/ADD, the files it copies) with `candidates`.
    public init(miss: CacheKeyInput, sourceFiles: [String: String]? = nil, candidates: [CacheEntry]) {
        let sameKind = candidates.filter { $0.input.operation == miss.operation && $0.input.platform == miss.platform }
        if let closest = Self.closest(to: miss, among: sameKind.filter { $0.input.parent == miss.parent }) {
            self.closest = closest.key
            self.differences = Self.differences(miss, sourceFiles, closest)
        } else if let closest = Self.closest(to: miss, among: sameKind.filter { $0.input.instruction == miss.instruction }) {
            self.closest = closest.key
            self.differences = Self.differences(miss, sourceFiles, closest)
        } else {
            self.closest = nil
            self.differences = ["no earlier entry for this \(miss.operation) step"]
        }
    }

    /// `differs from <key>: …; …`.
    public var description: String {
        guard let closest else { return differences.joined(separator: "; ") }
        return "differs from \(closest.digest.encoded.prefix(12)): " + differences.joined(separator: "; ")
    }

    /// The candidate with the fewest differing fields.
    private static func closest(to miss: CacheKeyInput, among candidates: [CacheEntry]) -> CacheEntry? {
        candidates.min { score(miss, $0.input) < score(miss, $1.input) }
    }

    private static func score(_ a: CacheKeyInput, _ b: CacheKeyInput) -> Int {
        let pairs = zip(a.fields.map { "\($0.name)=\($0.value)" }, b.fields.map { "\($0.name)=\($0.value)" })
        return pairs.filter { $0 != $1 }.count + abs(a.fields.count - b.fields.count)
    }

    private static func parentChange(from old: CacheKeyInput, to new: CacheKeyInput) -> String {
        func show(_ digest: Digest?) -> String { digest.map { String($0.encoded.prefix(12)) } ?? "scratch" }
        let isBase = (old.parentIsBase || old.parent == nil) && (new.parentIsBase || new.parent == nil)
        return isBase
            ? "base changed: \(show(old.parent)) → \(show(new.parent))"
            : "an earlier step changed (parent \(show(old.parent)) → \(show(new.parent)))"
    }

    private static func differences(_ miss: CacheKeyInput, _ files: [String: String]?, _ entry: CacheEntry) -> [String] {
        let old = entry.input
        var out: [String] = []
        if old.parent != miss.parent { out.append(parentChange(from: old, to: miss)) }
        if old.instruction != miss.instruction { out.append("instruction changed: was \(old.instruction)") }
        out += changes(in: "build arg", from: old.buildArgs, to: miss.buildArgs)
        out += changes(in: "env", from: pairs(old.environment), to: pairs(miss.environment))
        if old.user != miss.user { out.append("user changed: \(quoted(old.user)) → \(quoted(miss.user))") }
        if old.workingDirectory != miss.workingDirectory {
            out.append("workdir changed: \(old.workingDirectory) → \(miss.workingDirectory)")
        }
        if old.sourcesDigest != miss.sourcesDigest {
            if let before = entry.sourceFiles, let after = files {
                let changed = changes(in: "file", from: before, to: after, showValues: false)
                out += changed.isEmpty ? ["copied files changed"] : changed
            } else {
                out.append("copied files changed")
            }
        }
        if old.secretIDs.sorted() != miss.secretIDs.sorted() { out.append("secret mounts changed") }
        if old.platform != miss.platform { out.append("platform changed: \(old.platform) → \(miss.platform)") }
        return out.isEmpty ? ["an input outside the recorded fields changed"] : out
    }

    private static func pairs(_ environment: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for item in environment {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    private static func changes(in kind: String, from old: [String: String], to new: [String: String],
                                showValues: Bool = true) -> [String] {
        var out: [String] = []
        for name in Set(old.keys).union(new.keys).sorted() {
            switch (old[name], new[name]) {
            case (nil, let value?): out.append(showValues ? "\(kind) \(name) added (\(quoted(value)))" : "\(kind) \(name) added")
            case (_?, nil): out.append("\(kind) \(name) removed")
            case (let before?, let after?) where before != after:
                out.append(showValues ? "\(kind) \(name) changed: \(quoted(before)) → \(quoted(after))" : "\(kind) \(name) changed")
            default: break
            }
        }
        return out
    }

    private static func quoted(_ text: String) -> String { CacheKeyInput.quote(text) }
}
