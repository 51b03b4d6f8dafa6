/// Which images a request for one platform can use, best first: containerd's `platforms.Only`
/// rules, kept to the requested architecture.
///
/// Like containerd, a CPU runs older variants of its own architecture: `amd64/v3` accepts
/// `amd64/v3`, `v2`, then `v1` (plain `amd64`); `arm/v7` accepts `v7`, `v6`, `v5`; `arm64/v9.2`
/// accepts `v9.2` … `v9` then `v8.7` … `v8`. Unlike containerd's, it never crosses to another
/// architecture (`amd64` → `386`, `arm64` → `arm`): an image is labelled with the platform it
/// was built for, and 32-bit content labelled 64-bit would be a lie even where the CPU runs it.
/// OS version and features are not compared.
public struct PlatformMatcher: Sendable, Hashable {
    /// The requested platform, normalised.
    public let wanted: Platform
    /// What the request accepts, in order of preference, normalised; `wanted` first.
    public let accepted: [Platform]

    /// The matcher for requests of `platform`.
    public init(_ platform: Platform) {
        let wanted = platform.normalized
        self.wanted = wanted
        self.accepted = [wanted] + Self.olderVariants(of: wanted).map { variant in
            var older = wanted
            older.variant = variant
            return older.normalized
        }
    }

    /// How good `candidate` is for the request (0 is the requested platform itself), or nil
    /// when the request cannot use it.
    public func rank(of candidate: Platform) -> Int? {
        let candidate = candidate.normalized
        return accepted.firstIndex { accepted in
            accepted.os == candidate.os && accepted.architecture == candidate.architecture
                && (accepted.variant ?? "") == (candidate.variant ?? "")
        }
    }

    /// Whether the request can use an image built for `candidate`.
    public func matches(_ candidate: Platform) -> Bool { rank(of: candidate) != nil }

    /// The best of `manifests` for the request (the first listed among equals); entries without
    /// a platform (attestations) never match.
    public func best(in manifests: [Descriptor]) -> Descriptor? {
        manifests.enumerated()
            .compactMap { position, descriptor in descriptor.platform.flatMap(rank(of:)).map { ($0, position, descriptor) } }
            .min { ($0.0, $0.1) < ($1.0, $1.1) }?.2
    }

    /// The variants of the same architecture a CPU of `platform` also runs, newest first.
    private static func olderVariants(of platform: Platform) -> [String] {
        let variant = platform.variant ?? ""
        switch platform.architecture {
        case "amd64":
            guard let level = Int(variant.dropFirst()), variant.hasPrefix("v"), level > 1 else { return [] }
            return (1..<level).reversed().map { "v\($0)" }
        case "arm":
            guard let level = Int(variant.dropFirst()), variant.hasPrefix("v"), level > 5 else { return [] }
            return (5..<level).reversed().map { "v\($0)" }
        case "arm64":
            let parts = (variant.isEmpty ? "v8" : variant).dropFirst().split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, let major = Int(parts[0]), major >= 8 else { return [] }
            let minor = parts.count == 2 ? Int(parts[1]) ?? 0 : 0
            let spell = { (major: Int, minor: Int) in minor == 0 ? "v\(major)" : "v\(major).\(minor)" }
            var older: [String] = []
            var eightMinor = minor
            if major == 9 {
                older += (0..<minor).reversed().map { spell(9, $0) }
                // v9.0 forked from v8.5: v9.x runs what v8.(x+5) does, up to v8.9.
                eightMinor = min(minor + 5, 9)
                older.append(spell(8, eightMinor))
            }
            older += (0..<eightMinor).reversed().map { spell(8, $0) }
            return older
        default:
            return []
        }
    }
}
