import Foundation
import KilnOCI
import KilnTestSupport
import Testing

@Suite struct CanonicalJSONTests {
    static let emptySHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func layer(annotations: [String: String]) throws -> Descriptor {
        Descriptor(mediaType: .ociLayerGzip, digest: try Digest(parsing: emptySHA256), size: 0, annotations: annotations)
    }

    @Test func sortedKeysUnescapedSlashesNoWhitespace() throws {
        let bytes = try CanonicalJSON.encode(Self.layer(annotations: ["b": "1", "a": "x/y", "c": "<&>"]))
        #expect(String(decoding: bytes, as: UTF8.self) == """
            {"annotations":{"a":"x/y","b":"1","c":"<&>"},"digest":"\(Self.emptySHA256)","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":0}
            """)
    }

    /// Same value, however its dictionaries were built, gives the same bytes; and the digest is the
    /// sha256 of exactly those bytes as an outside tool computes it.
    @Test func digestIsStableAndIndependent() throws {
        var forward: [String: String] = [:]
        for key in (0..<50).map({ "key\($0)" }) { forward[key] = key }
        var backward: [String: String] = [:]
        for key in (0..<50).reversed().map({ "key\($0)" }) { backward[key] = key }
        let first = try CanonicalJSON.blob(Self.layer(annotations: forward))
        for _ in 0..<10 {
            #expect(try CanonicalJSON.blob(Self.layer(annotations: backward)) == first)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-canonical-\(UUID().uuidString).json")
        try first.bytes.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let sha256sum = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["sha256sum", file.path])
        #expect(sha256sum.stdout.hasPrefix(first.digest.encoded + " "))
        #expect(first.size == Int64(first.bytes.count))
    }

    @Test func descriptorOfAValue() throws {
        let manifest = Manifest(config: try Self.layer(annotations: [:]), layers: [try Self.layer(annotations: [:])])
        let blob = try CanonicalJSON.blob(manifest)
        let descriptor = try CanonicalJSON.descriptor(of: manifest, mediaType: .ociManifest,
                                                      platform: Platform(os: "linux", architecture: "amd64"))
        #expect(descriptor.digest == blob.digest)
        #expect(descriptor.size == blob.size)
        #expect(descriptor.mediaType == .ociManifest)
        #expect(descriptor.platform?.architecture == "amd64")
    }

    @Test func manifestShape() throws {
        let manifest = Manifest(config: try Self.layer(annotations: [:]), layers: [try Self.layer(annotations: [:])])
        let text = String(decoding: try CanonicalJSON.encode(manifest), as: UTF8.self)
        let layer = #"{"digest":"\#(Self.emptySHA256)","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":0}"#
        #expect(text == #"{"config":\#(layer),"layers":[\#(layer)],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#)
    }
}

@Suite struct ForeignDocumentTests {
    /// Readers must ignore fields they do not know (future spec versions, vendor extensions).
    @Test func unknownFieldsAreIgnored() throws {
        let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        let text = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","future":{"x":[1,2]},
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":0,"digest":"\(digest)","extra":true},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":0,"digest":"\(digest)","x":null}]}
            """
        let manifest = try Manifest(validating: Data(text.utf8))
        #expect(manifest.mediaType == .dockerManifest)
        #expect(manifest.config.mediaType == .dockerConfig)
        let index = try Index(validating: Data(#"{"schemaVersion":2,"manifests":[],"vendor":"x"}"#.utf8))
        #expect(index.mediaType == nil)
        #expect(index.manifests.isEmpty)
    }
}
