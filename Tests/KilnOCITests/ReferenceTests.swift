import KilnOCI
import Testing

/// Cases ported from distribution/reference's `reference_test.go` and `normalize_test.go`,
/// restated for normalised parsing (`ParseNormalizedNamed` + default tag).
@Suite struct ReferenceTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        var input: String
        var registry: String
        var repository: String
        var tag: String?
        var digest: String?
        var familiar: String
        var testDescription: String { input.count > 60 ? String(input.prefix(57)) + "..." : input }
    }

    static let f64 = String(repeating: "f", count: 64)
    static let sha256F = "sha256:" + f64
    static let sha512F = "sha512:" + String(repeating: "f", count: 128)
    static let hex64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
    /// 255 characters of name exactly: `localhost/` plus 245.
    static let longestName = "localhost/" + String(repeating: "a/", count: 122) + "a"

    static let valid: [Valid] = [
        Valid(input: "busybox", registry: "docker.io", repository: "library/busybox", tag: "latest", familiar: "busybox:latest"),
        Valid(input: "test_com", registry: "docker.io", repository: "library/test_com", tag: "latest", familiar: "test_com:latest"),
        Valid(input: "test.com:tag", registry: "docker.io", repository: "library/test.com", tag: "tag", familiar: "test.com:tag"),
        Valid(input: "test.com:5000", registry: "docker.io", repository: "library/test.com", tag: "5000", familiar: "test.com:5000"),
        Valid(input: "test.com/repo:tag", registry: "test.com", repository: "repo", tag: "tag", familiar: "test.com/repo:tag"),
        Valid(input: "test:5000/repo", registry: "test:5000", repository: "repo", tag: "latest", familiar: "test:5000/repo:latest"),
        Valid(input: "test:5000/repo:tag", registry: "test:5000", repository: "repo", tag: "tag", familiar: "test:5000/repo:tag"),
        Valid(input: "test:5000/repo@\(sha256F)", registry: "test:5000", repository: "repo", digest: sha256F,
              familiar: "test:5000/repo@\(sha256F)"),
        Valid(input: "test:5000/repo:tag@\(sha256F)", registry: "test:5000", repository: "repo", tag: "tag", digest: sha256F,
              familiar: "test:5000/repo:tag@\(sha256F)"),
        Valid(input: "lowercase:Uppercase", registry: "docker.io", repository: "library/lowercase", tag: "Uppercase",
              familiar: "lowercase:Uppercase"),
        Valid(input: longestName + ":tag-puts-this-over-max", registry: "localhost",
              repository: String(longestName.dropFirst("localhost/".count)), tag: "tag-puts-this-over-max",
              familiar: longestName + ":tag-puts-this-over-max"),
        Valid(input: "sub-dom1.foo.com/bar/baz/quux", registry: "sub-dom1.foo.com", repository: "bar/baz/quux", tag: "latest",
              familiar: "sub-dom1.foo.com/bar/baz/quux:latest"),
        Valid(input: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", registry: "sub-dom1.foo.com", repository: "bar/baz/quux",
              tag: "some-long-tag", familiar: "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
        Valid(input: "b.gcr.io/test.example.com/my-app:test.example.com", registry: "b.gcr.io",
              repository: "test.example.com/my-app", tag: "test.example.com",
              familiar: "b.gcr.io/test.example.com/my-app:test.example.com"),
        Valid(input: "xn--n3h.com/myimage:xn--n3h.com", registry: "xn--n3h.com", repository: "myimage", tag: "xn--n3h.com",
              familiar: "xn--n3h.com/myimage:xn--n3h.com"),
        Valid(input: "xn--7o8h.com/myimage:xn--7o8h.com@\(sha512F)", registry: "xn--7o8h.com", repository: "myimage",
              tag: "xn--7o8h.com", digest: sha512F, familiar: "xn--7o8h.com/myimage:xn--7o8h.com@\(sha512F)"),
        Valid(input: "foo_bar.com:8080", registry: "docker.io", repository: "library/foo_bar.com", tag: "8080",
              familiar: "foo_bar.com:8080"),
        Valid(input: "foo/foo_bar.com:8080", registry: "docker.io", repository: "foo/foo_bar.com", tag: "8080",
              familiar: "foo/foo_bar.com:8080"),
        Valid(input: "192.168.1.1", registry: "docker.io", repository: "library/192.168.1.1", tag: "latest",
              familiar: "192.168.1.1:latest"),
        Valid(input: "192.168.1.1:5000", registry: "docker.io", repository: "library/192.168.1.1", tag: "5000",
              familiar: "192.168.1.1:5000"),
        Valid(input: "192.168.1.1/repo", registry: "192.168.1.1", repository: "repo", tag: "latest",
              familiar: "192.168.1.1/repo:latest"),
        Valid(input: "192.168.1.1:5000/repo:5050", registry: "192.168.1.1:5000", repository: "repo", tag: "5050",
              familiar: "192.168.1.1:5000/repo:5050"),
        Valid(input: "[2001:db8::1]/repo", registry: "[2001:db8::1]", repository: "repo", tag: "latest",
              familiar: "[2001:db8::1]/repo:latest"),
        Valid(input: "[2001:db8:1:2:3:4:5:6]/repo:tag", registry: "[2001:db8:1:2:3:4:5:6]", repository: "repo", tag: "tag",
              familiar: "[2001:db8:1:2:3:4:5:6]/repo:tag"),
        Valid(input: "[2001:db8::1]:5000/repo", registry: "[2001:db8::1]:5000", repository: "repo", tag: "latest",
              familiar: "[2001:db8::1]:5000/repo:latest"),
        Valid(input: "[2001:db8::1]:5000/repo:tag@\(sha256F)", registry: "[2001:db8::1]:5000", repository: "repo", tag: "tag",
              digest: sha256F, familiar: "[2001:db8::1]:5000/repo:tag@\(sha256F)"),
        Valid(input: "[2001:db8::]:5000/repo", registry: "[2001:db8::]:5000", repository: "repo", tag: "latest",
              familiar: "[2001:db8::]:5000/repo:latest"),
        Valid(input: "[::1]:5000/repo", registry: "[::1]:5000", repository: "repo", tag: "latest", familiar: "[::1]:5000/repo:latest"),
        // normalize_test.go
        Valid(input: "docker/docker", registry: "docker.io", repository: "docker/docker", tag: "latest", familiar: "docker/docker:latest"),
        Valid(input: "library/debian", registry: "docker.io", repository: "library/debian", tag: "latest", familiar: "debian:latest"),
        Valid(input: "docker.io/library/debian", registry: "docker.io", repository: "library/debian", tag: "latest",
              familiar: "debian:latest"),
        Valid(input: "docker.io/debian", registry: "docker.io", repository: "library/debian", tag: "latest", familiar: "debian:latest"),
        Valid(input: "index.docker.io/docker/docker", registry: "docker.io", repository: "docker/docker", tag: "latest",
              familiar: "docker/docker:latest"),
        Valid(input: "index.docker.io/library/debian", registry: "docker.io", repository: "library/debian", tag: "latest",
              familiar: "debian:latest"),
        Valid(input: "index.docker.io/debian", registry: "docker.io", repository: "library/debian", tag: "latest",
              familiar: "debian:latest"),
        Valid(input: "localhost/debian", registry: "localhost", repository: "debian", tag: "latest", familiar: "localhost/debian:latest"),
        Valid(input: "localhost/library/debian", registry: "localhost", repository: "library/debian", tag: "latest",
              familiar: "localhost/library/debian:latest"),
        Valid(input: "localhost:5000/library/debian", registry: "localhost:5000", repository: "library/debian", tag: "latest",
              familiar: "localhost:5000/library/debian:latest"),
        Valid(input: "127.0.0.1:5000/docker/docker", registry: "127.0.0.1:5000", repository: "docker/docker", tag: "latest",
              familiar: "127.0.0.1:5000/docker/docker:latest"),
        Valid(input: "192.168.0.1:8/debian", registry: "192.168.0.1:8", repository: "debian", tag: "latest",
              familiar: "192.168.0.1:8/debian:latest"),
        Valid(input: "docker.io/\(hex64)", registry: "docker.io", repository: "library/\(hex64)", tag: "latest",
              familiar: "\(hex64):latest"),
        Valid(input: "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", registry: "docker.io",
              repository: "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", tag: "latest",
              familiar: "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest"),
        // An uppercase first component is a registry, never a repository path (distribution's FIXME case).
        Valid(input: "Docker/docker", registry: "Docker", repository: "docker", tag: "latest", familiar: "Docker/docker:latest"),
        // Only a single component after library/ is an official image.
        Valid(input: "docker.io/library/distros/ubuntu", registry: "docker.io", repository: "library/distros/ubuntu", tag: "latest",
              familiar: "library/distros/ubuntu:latest"),
        Valid(input: "busybox@\(sha256F)", registry: "docker.io", repository: "library/busybox", digest: sha256F,
              familiar: "busybox@\(sha256F)"),
        Valid(input: "foo/a__b/c--d/e-f_g.h", registry: "docker.io", repository: "foo/a__b/c--d/e-f_g.h", tag: "latest",
              familiar: "foo/a__b/c--d/e-f_g.h:latest"),
        Valid(input: "repo:" + String(repeating: "t", count: 128), registry: "docker.io", repository: "library/repo",
              tag: String(repeating: "t", count: 128), familiar: "repo:" + String(repeating: "t", count: 128)),
        Valid(input: "repo:_tag.1-x", registry: "docker.io", repository: "library/repo", tag: "_tag.1-x", familiar: "repo:_tag.1-x"),
    ]

    @Test(arguments: valid)
    func parsesAndNormalises(_ case_: Valid) throws {
        let reference = try Reference(parsing: case_.input)
        #expect(reference.registry == case_.registry)
        #expect(reference.repository == case_.repository)
        #expect(reference.tag == case_.tag)
        #expect(reference.digest?.description == case_.digest)
        #expect(reference.familiarString == case_.familiar)
        var full = "\(case_.registry)/\(case_.repository)"
        if let tag = case_.tag { full += ":" + tag }
        if let digest = case_.digest { full += "@" + digest }
        #expect(reference.description == full)
        // The normalised form is a fixed point.
        #expect(try Reference(parsing: reference.description) == reference)
        #expect(try Reference(parsing: reference.familiarString) == reference)
    }

    enum Failure: Sendable { case empty, invalidFormat, uppercase, tooLong, hexIdentifier }

    struct Invalid: Sendable, CustomTestStringConvertible {
        var input: String
        var failure: Failure
        /// A fragment the error message must contain, so the user sees what is wrong.
        var mentions: String
        var testDescription: String { input.count > 60 ? String(input.prefix(57)) + "..." : (input.isEmpty ? "(empty)" : input) }
    }

    static let invalid: [Invalid] = [
        Invalid(input: "", failure: .empty, mentions: "at least one component"),
        Invalid(input: ":justtag", failure: .invalidFormat, mentions: "missing repository name"),
        Invalid(input: "@\(sha256F)", failure: .invalidFormat, mentions: "missing repository name"),
        Invalid(input: "repo@sha256:" + String(repeating: "f", count: 34), failure: .invalidFormat, mentions: "invalid digest"),
        Invalid(input: "validname@invaliddigest:\(f64)", failure: .invalidFormat, mentions: "unsupported digest algorithm"),
        Invalid(input: "repo@sha256:" + String(repeating: "F", count: 64), failure: .invalidFormat, mentions: "invalid digest"),
        Invalid(input: "Uppercase:tag", failure: .uppercase, mentions: "must be lowercase"),
        Invalid(input: "test:5000/Uppercase/lowercase:tag", failure: .uppercase, mentions: "must be lowercase"),
        Invalid(input: "docker/Docker", failure: .uppercase, mentions: "docker/Docker"),
        Invalid(input: "docker.io/docker/Docker", failure: .uppercase, mentions: "must be lowercase"),
        Invalid(input: String(repeating: "a/", count: 128) + "a:tag", failure: .tooLong, mentions: "255"),
        // Normalisation adds docker.io/, which pushes distribution's longest valid name over the limit.
        Invalid(input: String(repeating: "a/", count: 127) + "a:tag-puts-this-over-max", failure: .tooLong, mentions: "265"),
        Invalid(input: longestName + "a", failure: .tooLong, mentions: "256"),
        Invalid(input: "aa/asdf$$^/aa", failure: .invalidFormat, mentions: "repository path"),
        Invalid(input: "[2001:db8::1]", failure: .invalidFormat, mentions: "[2001:db8::1]"),
        Invalid(input: "[2001:db8::1]:5000", failure: .invalidFormat, mentions: "[2001:db8::1]:5000"),
        Invalid(input: "[2001:db8::1]:tag", failure: .invalidFormat, mentions: "[2001:db8::1]:tag"),
        Invalid(input: "[fe80::1%eth0]:5000/repo", failure: .invalidFormat, mentions: "fe80"),
        Invalid(input: "[fe80::1%@invalidzone]:5000/repo", failure: .invalidFormat, mentions: "fe80"),
        Invalid(input: "https://github.com/docker/docker", failure: .invalidFormat, mentions: "https:"),
        Invalid(input: "-docker", failure: .invalidFormat, mentions: "-docker"),
        Invalid(input: "-docker/docker", failure: .invalidFormat, mentions: "-docker/docker"),
        Invalid(input: "-docker.io/docker/docker", failure: .invalidFormat, mentions: "-docker.io"),
        Invalid(input: "docker///docker", failure: .invalidFormat, mentions: "docker///docker"),
        Invalid(input: "docker.io/docker///docker", failure: .invalidFormat, mentions: "docker///docker"),
        Invalid(input: hex64, failure: .hexIdentifier, mentions: "64-byte hexadecimal"),
        Invalid(input: "foo/a..b", failure: .invalidFormat, mentions: "a..b"),
        Invalid(input: "foo/a___b", failure: .invalidFormat, mentions: "a___b"),
        Invalid(input: "foo/a-", failure: .invalidFormat, mentions: "foo/a-"),
        Invalid(input: "repo:", failure: .invalidFormat, mentions: "tag \"\""),
        Invalid(input: "repo:-tag", failure: .invalidFormat, mentions: "tag \"-tag\""),
        Invalid(input: "repo:" + String(repeating: "t", count: 129), failure: .invalidFormat, mentions: "tag"),
        Invalid(input: "repo:a:b", failure: .invalidFormat, mentions: "repo:a:b"),
        // Kiln's decision where Go would return a name without a registry: "a_b.com" contains a dot,
        // so it is taken as a registry, and it is not a valid host name.
        Invalid(input: "a_b.com/repo", failure: .invalidFormat, mentions: "not a valid registry host"),
    ]

    @Test(arguments: invalid)
    func rejectsWithAClearError(_ case_: Invalid) {
        do {
            let reference = try Reference(parsing: case_.input)
            Issue.record("parsed as \(reference)")
        } catch {
            switch (case_.failure, error) {
            case (.empty, .empty), (.invalidFormat, .invalidFormat), (.uppercase, .uppercaseRepository),
                 (.tooLong, .nameTooLong), (.hexIdentifier, .hexIdentifier):
                break
            default:
                Issue.record("wrong error: \(error)")
            }
            #expect(error.description.contains(case_.mentions), "\(error.description)")
        }
    }

    @Test func untaggedWhenNoDefaultTagIsWanted() throws {
        let reference = try Reference(parsing: "alpine", defaultTag: nil)
        #expect(reference.tag == nil)
        #expect(reference.description == "docker.io/library/alpine")
        #expect(reference.familiarString == "alpine")
    }

    @Test func digestAndTagHelpers() throws {
        let digest = try Digest(parsing: Self.sha256F)
        let pinned = try Reference(parsing: "alpine:3.20").withDigest(digest)
        #expect(pinned.familiarString == "alpine:3.20@\(Self.sha256F)")
        let retagged = try pinned.withTag("edge")
        #expect(retagged.description == "docker.io/library/alpine:edge")
        #expect(throws: ReferenceError.self) { try pinned.withTag("-bad") }
        #expect(try Reference(parsing: "alpine").registryAPIHost == "registry-1.docker.io")
        #expect(try Reference(parsing: "ghcr.io/a/b").registryAPIHost == "ghcr.io")
        #expect(try Reference(registry: "localhost:5000", repository: "x/y", tag: "t").description == "localhost:5000/x/y:t")
        #expect(throws: ReferenceError.self) { try Reference(registry: "localhost:5000", repository: "X", tag: "t") }
    }

    @Test(arguments: [
        ("localhost", true), ("localhost:5000", true), ("LocalHost:80", true), ("127.0.0.1", true), ("127.0.0.1:5000", true),
        ("127.1.2.3:443", true), ("[::1]", true), ("[::1]:5000", true), ("::1", true), ("[0:0:0:0:0:0:0:1]:5000", true),
        ("[::ffff:127.0.0.1]:5000", true),
        ("docker.io", false), ("128.0.0.1", false), ("10.0.0.1:5000", false), ("[::2]:5000", false),
        ("localhost.example.com", false), ("127.example.com", false), ("", false), ("[::1", false), ("localhostx:5000", false),
    ])
    func loopbackRegistryHosts(_ host: String, _ loopback: Bool) {
        #expect(RegistryHost.isLoopback(host) == loopback)
    }

    @Test func referenceKnowsWhenItsRegistryIsLocal() throws {
        #expect(try Reference(parsing: "localhost:5000/app").isLoopbackRegistry)
        #expect(try Reference(parsing: "[::1]:5000/app").isLoopbackRegistry)
        #expect(try !Reference(parsing: "app").isLoopbackRegistry)
    }
}
