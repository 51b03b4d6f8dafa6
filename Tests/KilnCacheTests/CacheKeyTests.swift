import Foundation
import KilnOCI
import Testing
@testable import KilnCache

@Suite struct CacheKeyTests {
    let base = SampleStep.run("make", parent: Digest.sha256(of: Data("base".utf8)), env: ["PATH=/bin", "A=1"], args: ["V": "1"])

    @Test func sameDefinitionSameKey() throws {
        #expect(try CacheKey(base) == CacheKey(base))
    }

    @Test func canonicalTextIsStable() {
        // The v2 format is a contract between machines and releases: this text must not drift.
        let parent = Digest.sha256(of: Data("base".utf8))
        #expect(base.document.canonicalText == """
            {"buildArgs":{"V":"1"},"parent":"\(parent)","platform":"linux/amd64","run":{"arguments":["/bin/sh","-c","make"],"environment":["PATH=/bin","A=1"],"user":""}}
            """)
        #expect(base.key.digest == Digest.sha256(of: Data(("kiln-cache-key v2\n" + base.document.canonicalText).utf8)))
    }

    @Test func everyMemberChangesTheKey() {
        var variants: [SampleStep] = []
        var v = base; v.parent = nil; variants.append(v)
        v = base; v.platform = "linux/arm64"; variants.append(v)
        v = base; v.run!.environment = ["A=1", "PATH=/bin"]; variants.append(v)
        v = base; v.buildArgs = ["V": "2"]; variants.append(v)
        v = base; v.run!.arguments.append("x"); variants.append(v)
        v = base; v.run!.user = "app"; variants.append(v)
        let keys = Set(variants.map(\.key) + [base.key])
        #expect(keys.count == variants.count + 1)
    }

    @Test func excludedMembersDoNotChangeTheKey() {
        var v = base
        v.run!.proxyEnvironment = ["HTTP_PROXY=http://user:secret@proxy:3128"]
        v.run!.instruction = "RUN  make   # reformatted"
        #expect(v.key == base.key)
        #expect(!v.document.canonicalText.contains("secret"))
    }

    @Test func valuesCannotForgeStructure() {
        var a = base; a.run!.user = #"app","workdir":"/src"#
        var b = base; b.run!.user = "app"
        #expect(a.key != b.key)
        #expect(a.document.canonicalText.contains(#"app\",\"workdir\":\"/src"#))
        var c = base; c.run!.user = "a\u{1}\n"
        #expect(c.document.canonicalText.contains(#""a\u0001\n""#))
    }

    @Test func memberOrderDoesNotMatter() {
        var a = base; a.buildArgs = ["A": "1", "B": "2"]
        var b = base; b.buildArgs = ["B": "2", "A": "1"]
        #expect(a.key == b.key)
    }

    @Test func tagIsKilnPlusHex() {
        #expect(base.key.tag == "kiln-" + base.key.digest.encoded)
        #expect(base.key.tag.count == 69)
    }

    @Test func documentsRoundTripAndRejectFractions() throws {
        let data = try JSONEncoder().encode(base.document)
        #expect(try JSONDecoder().decode(KeyDocument.self, from: data) == base.document)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(KeyDocument.self, from: Data("1.5".utf8)) }
    }

    @Test func anEntryNamesItsVariantByBasisAndLayer() {
        let parentA = Digest.sha256(of: Data("a".utf8)), parentB = Digest.sha256(of: Data("b".utf8))
        let layer = CachedLayer(descriptor: Descriptor(mediaType: .ociLayerGzip, digest: parentA, size: 1), diffID: parentA)
        let one = base.entry(layer: layer, basis: ["parent": parentA])
        #expect(one.variant == base.entry(layer: layer, basis: ["parent": parentA], created: "2027-01-01T00:00:00Z").variant)
        #expect(one.variant != base.entry(layer: layer, basis: ["parent": parentB]).variant)
        #expect(one.variant != base.entry(layer: nil, basis: ["parent": parentA]).variant)
        #expect(one.isConsistent)
        var forged = one
        forged.definition = SampleStep.run("other").document
        #expect(!forged.isConsistent)
    }
}
