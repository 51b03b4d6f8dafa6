import Testing
import KilnOCI

@Suite struct DigestTests {
    @Test func sha256OfEmptyInput() {
        #expect(Digest.sha256(of: [UInt8]()).description == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func streamingHashEqualsOneShot() {
        var hasher = DigestHasher()
        hasher.update(Array("hello ".utf8))
        hasher.update(Array("world".utf8))
        #expect(hasher.finalize() == Digest.sha256(of: Array("hello world".utf8)))
        #expect(hasher.byteCount == 11)
    }

    @Test(arguments: ["sha256:abc", "sha256:" + String(repeating: "A", count: 64), "md5:" + String(repeating: "a", count: 32), "nocolon"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: DigestError.self) { try Digest(parsing: text) }
    }

    @Test func acceptsSha512WhenReading() throws {
        let d = try Digest(parsing: "sha512:" + String(repeating: "0", count: 128))
        #expect(d.algorithm == "sha512")
    }
}

@Suite struct DigestAnyAlgorithmTests {
    @Test(arguments: [
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha256.foo-bar:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
        "sha384:" + String(repeating: "a", count: 96),
    ])
    func acceptsTheOCIGrammar(_ text: String) throws {
        let digest = try Digest(parsingAnyAlgorithm: text)
        #expect(digest.description == text)
        #expect(!digest.isVerifiable)
    }

    @Test(arguments: [
        "sha256+foo+-b:abc", ":abc", "sha256", "SHA256:abc", "sha256:" + String(repeating: "A", count: 64),
        "sha256:abc", "sha512:" + String(repeating: "a", count: 64), "alg:a/b", "alg-:abc",
    ])
    func rejectsOutsideTheGrammarOrMalformedRegistered(_ text: String) {
        #expect(throws: DigestError.self) { try Digest(parsingAnyAlgorithm: text) }
    }
}
