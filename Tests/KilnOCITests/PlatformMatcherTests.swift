import KilnOCI
import Testing

/// containerd's `platforms.Only` order, kept to the requested architecture.
@Suite struct PlatformMatcherTests {
    static func platform(_ text: String) throws -> Platform { try Platform(parsing: text) }

    @Test(arguments: [
        // (requested, candidate, accepted)
        ("linux/amd64", "linux/amd64", true),
        ("linux/amd64", "linux/amd64/v1", true),
        ("linux/amd64", "linux/amd64/v2", false),
        ("linux/amd64/v2", "linux/amd64", true),
        ("linux/amd64/v2", "linux/amd64/v2", true),
        ("linux/amd64/v3", "linux/amd64/v2", true),
        ("linux/amd64/v2", "linux/amd64/v3", false),
        ("linux/amd64", "linux/386", false),
        ("linux/arm64", "linux/arm64/v8", true),
        ("linux/arm64/v8", "linux/arm64", true),
        ("linux/arm64", "linux/amd64", false),
        ("linux/arm64", "linux/arm/v7", false),
        ("linux/arm64/v8.2", "linux/arm64", true),
        ("linux/arm64", "linux/arm64/v8.2", false),
        ("linux/arm64/v9", "linux/arm64/v8.5", true),
        ("linux/arm64/v9", "linux/arm64/v8.6", false),
        ("linux/arm64/v9.2", "linux/arm64/v8.7", true),
        ("linux/arm/v7", "linux/arm", true),
        ("linux/arm/v7", "linux/arm/v6", true),
        ("linux/arm/v7", "linux/arm/v5", true),
        ("linux/arm/v6", "linux/arm/v7", false),
        ("linux/arm/v7", "linux/arm64", false),
        ("linux/amd64", "windows/amd64", false),
    ])
    func accepts(requested: String, candidate: String, accepted: Bool) throws {
        #expect(PlatformMatcher(try Self.platform(requested)).matches(try Self.platform(candidate)) == accepted)
    }

    @Test("the requested platform first, then the newest older variant; the list order breaks ties")
    func bestInAnIndex() throws {
        func entry(_ platform: String, _ digestText: String) throws -> Descriptor {
            Descriptor(mediaType: .ociManifest, digest: Digest.sha256(of: Array(digestText.utf8)), size: 1,
                       platform: try Self.platform(platform))
        }
        let v1 = try entry("linux/amd64", "v1")
        let v2 = try entry("linux/amd64/v2", "v2")
        let v3 = try entry("linux/amd64/v3", "v3")
        let arm = try entry("linux/arm/v7", "arm")
        let unlabelled = Descriptor(mediaType: .ociManifest, digest: Digest.sha256(of: Array("x".utf8)), size: 1)
        let manifests = [unlabelled, v1, arm, v3, v2]
        #expect(PlatformMatcher(try Self.platform("linux/amd64/v3")).best(in: manifests) == v3)
        #expect(PlatformMatcher(try Self.platform("linux/amd64/v4")).best(in: manifests) == v3)
        #expect(PlatformMatcher(try Self.platform("linux/amd64/v2")).best(in: manifests) == v2)
        #expect(PlatformMatcher(try Self.platform("linux/amd64")).best(in: manifests) == v1)
        #expect(PlatformMatcher(try Self.platform("linux/arm/v8")).best(in: manifests) == arm)
        #expect(PlatformMatcher(try Self.platform("linux/arm64")).best(in: manifests) == nil)
        #expect(PlatformMatcher(try Self.platform("linux/amd64")).best(in: [v1, try entry("linux/amd64", "again")]) == v1)
    }
}
