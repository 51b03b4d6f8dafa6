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
