import Foundation
import KilnBuilder
import KilnOCI
import Testing

@Suite("Parsing --build-context and --output")
struct BuildOptionParsingTests {
    @Test("named contexts: tag, digest, neither; bad spellings are rejected with the flag named")
    func namedContexts() throws {
        let tagged = try NamedContext(parsing: "base=oci-layout:///srv/layouts/base:v2")
        #expect(tagged.name == "base" && tagged.layout.path == "/srv/layouts/base" && tagged.tag == "v2" && tagged.digest == nil)
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try NamedContext(parsing: "docker.io/library/alpine:3=oci-layout:///l@\(digest)")
        #expect(pinned.name == "docker.io/library/alpine:3" && pinned.layout.path == "/l" && pinned.tag == nil)
        #expect(pinned.digest?.description == digest)
        let plain = try NamedContext(parsing: "x=oci-layout:///a/b.c")
        #expect(plain.layout.path == "/a/b.c" && plain.tag == nil)
        for bad in ["noequals", "=oci-layout:///x", "x=docker-image://alpine", "x=oci-layout://relative/path", "x=oci-layout:///l@sha256:short"] {
            #expect(throws: BuildError.self, "\(bad)") { try NamedContext(parsing: bad) }
        }
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
