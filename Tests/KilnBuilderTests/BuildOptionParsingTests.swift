import Foundation
import KilnBuilder
import KilnOCI
import Testing

@Suite("Parsing --build-context and --output")
struct BuildOptionParsingTests {
    @Test("named contexts: tag, digest, neither; bad spellings are rejected with the flag named")
    func namedContexts() throws {
        let tagged = try NamedContext(parsing: "base=oci-layout:///srv/layouts/base:v2")
        #expect(tagged.name == "base"
            && tagged.value == .ociLayout(.init(directory: URL(fileURLWithPath: "/srv/layouts/base"), tag: "v2")))
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try NamedContext(parsing: "docker.io/library/alpine:3=oci-layout:///l@\(digest)")
        #expect(pinned.name == "docker.io/library/alpine:3"
            && pinned.value == .ociLayout(.init(directory: URL(fileURLWithPath: "/l"), digest: Digest(digest))))
        let plain = try NamedContext(parsing: "x=oci-layout:///a/b.c")
        #expect(plain.value == .ociLayout(.init(directory: URL(fileURLWithPath: "/a/b.c"))))
        for bad in ["noequals", "=oci-layout:///x", "x=oci-layout://relative/path", "x=oci-layout:///l@sha256:short",
                    "x=https://example.com/ctx.tar", "x=git://example.com/r.git", "x=target:other", "x=", "x=docker-image://"] {
            #expect(throws: BuildError.self, "\(bad)") { try NamedContext(parsing: bad) }
        }
    }

    @Test("named contexts: a directory, absolute or relative to the current directory; docker-image:// aliases")
    func directoryAndImageContexts() throws {
        let here = URL(fileURLWithPath: "/work/here")
        #expect(try NamedContext(parsing: "deps=/srv/deps", currentDirectory: here).value == .directory(URL(fileURLWithPath: "/srv/deps")))
        #expect(try NamedContext(parsing: "deps=../deps/./x", currentDirectory: here).value == .directory(URL(fileURLWithPath: "/work/deps/x")))
        #expect(try NamedContext(parsing: "deps=.", currentDirectory: here).value == .directory(here))
        #expect(try NamedContext(parsing: "base=docker-image://alpine:3.20").value == .image("alpine:3.20"))
    }

    @Test("outputs: oci, docker and registry, with -t names as the default")
    func outputs() throws {
        #expect(try OutputTarget(parsing: "type=oci,dest=/tmp/x,name=app:1", tags: []) == .ociLayout(directory: URL(fileURLWithPath: "/tmp/x"), name: "app:1"))
        #expect(try OutputTarget(parsing: "type=docker,dest=/tmp/i.tar", tags: ["a:1", "b:2"])
            == .dockerArchive(file: URL(fileURLWithPath: "/tmp/i.tar"), tags: ["a:1", "b:2"]))
        #expect(try OutputTarget(parsing: "type=registry", tags: ["localhost:5000/app:1"])
            == .registry([try Reference(parsing: "localhost:5000/app:1")]))
        for bad in ["type=oci", "type=registry", "type=tarball,dest=x", "dest"] {
            #expect(throws: BuildError.self, "\(bad)") { try OutputTarget(parsing: bad, tags: []) }
        }
    }

    @Test("a FROM image with no registry access and no named context says how to provide one")
    func unresolvedBase() async throws {
        let harness = try BuildHarness()
        await #expect {
            _ = try await harness.build("FROM alpine:3.20\nRUN true\n")
        } throws: { error in
            "\(error)".contains("alpine:3.20") && "\(error)".contains("--build-context alpine:3.20=oci-layout:///PATH")
        }
    }
}
