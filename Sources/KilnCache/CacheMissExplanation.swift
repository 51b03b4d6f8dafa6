import KilnOCI

/// Why a step missed the cache: which part of its definition differs from the closest earlier
/// entry, or that an entry matched but was built on other content.
///
/// The closest entry is one for the same kind of step on the same parent (the same place in
/// the same chain, as in the previous build); failing that, the closest step of that kind on
/// another parent (an earlier step changed); failing that, there is nothing to compare with. The
/// comparison is of definitions as documents, so every member a key covers is explained
/// without a list of fields kept here.
public struct CacheMissExplanation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The entry compared with, if any.
    public var closest: CacheKey?
    /// One line per differing input, most telling first.
    public var differences: [String]

    /// Compares `miss` (and, for COPY/ADD, the files it copies) with `candidates`.
    public init(miss: KeyDocument, sourceFiles: [String: String]? = nil, candidates: [CacheEntry]) {
        let key = CacheKey(document: miss)
        let operation = CacheEntry(key: key, layer: nil, definition: miss, created: "").operation
        if let sameKey = candidates.first(where: { $0.key == key }) {
            closest = sameKey.key
            differences = ["an entry has this key, but was built on other content (an earlier step, the base or a stage it reads gave different bytes)"]
            return
        }
        let sameKind = candidates.filter { $0.operation == operation && $0.definition[member: "platform"] == miss[member: "platform"] }
        if let found = Self.closest(to: miss, among: sameKind.filter { $0.definition[member: "parent"] == miss[member: "parent"] })
            ?? Self.closest(to: miss, among: sameKind) {
            closest = found.key
            differences = Self.differences(miss, sourceFiles, found)
        } else {
            closest = nil
            differences = ["no earlier entry for this \(operation.uppercased()) step"]
        }
    }

    /// `differs from <key>: …; …`.
    public var description: String {
        guard let closest else { return differences.joined(separator: "; ") }
        return "differs from \(closest.digest.encoded.prefix(12)): " + differences.joined(separator: "; ")
    }

    /// The candidate with the fewest differing members.
    private static func closest(to miss: KeyDocument, among candidates: [CacheEntry]) -> CacheEntry? {
        candidates.min { miss.differences(from: $0.definition).count < miss.differences(from: $1.definition).count }
    }

    private static func differences(_ miss: KeyDocument, _ files: [String: String]?, _ entry: CacheEntry) -> [String] {
        let old = entry.definition
        var out: [String] = []
        // Build args are explained by name, from the whole map.
        var paths: [String] = []
        for path in miss.differences(from: old) {
            var components = path.split(separator: ".").map(String.init)
            if let args = components.firstIndex(of: "buildArgs") { components = Array(components[...args]) }
            let collapsed = components.joined(separator: ".")
            if !paths.contains(collapsed) { paths.append(collapsed) }
        }
        for path in paths {
            let leaf = path.split(separator: ".").last.map(String.init) ?? path
            switch leaf {
            case "parent":
                out.append(parentChange(from: old[member: "parent"], to: miss[member: "parent"]))
            case "buildArgs":
                out += changes(in: "build arg", from: strings(old.value(at: path)), to: strings(miss.value(at: path)))
            case "environment":
                out += changes(in: "env", from: pairs(old.value(at: path)), to: pairs(miss.value(at: path)))
            case "contents":
                if let before = entry.sourceFiles, let after = files {
                    let changed = changes(in: "file", from: before, to: after, showValues: false)
                    out += changed.isEmpty ? ["copied files changed"] : changed
                } else {
                    out.append("copied files changed")
                }
            default:
                out.append("\(path) changed: \(show(old.value(at: path))) → \(show(miss.value(at: path)))")
            }
        }
        return out.isEmpty ? ["an input outside the recorded fields changed"] : out
    }

    private static func parentChange(from old: KeyDocument?, to new: KeyDocument?) -> String {
        func text(_ value: KeyDocument?) -> String {
            if case .string(let digest)? = value { return String(digest.split(separator: ":").last?.prefix(12) ?? "") }
            return "scratch"
        }
        return "an earlier step or the base changed (parent \(text(old)) → \(text(new)))"
    }

    private static func show(_ value: KeyDocument?) -> String {
        guard let value else { return "(none)" }
        let text = value.canonicalText
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    private static func strings(_ value: KeyDocument?) -> [String: String] {
        guard case .object(let members)? = value else { return [:] }
        return members.compactMapValues { if case .string(let text) = $0 { return text } else { return $0.canonicalText } }
    }

    private static func pairs(_ value: KeyDocument?) -> [String: String] {
        guard case .array(let items)? = value else { return [:] }
        var result: [String: String] = [:]
        for case .string(let item) in items {
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

    private static func quoted(_ text: String) -> String { KeyDocument.quote(text) }
}
