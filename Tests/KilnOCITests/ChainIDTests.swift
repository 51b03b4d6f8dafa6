import Foundation
import KilnOCI
import KilnTestSupport
import Testing

@Suite struct ChainIDTests {
    /// The diff IDs of the spec's config example.
    static let diffIDs = [
        "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
    ]

    @Test func chainOfOneIsTheDiffID() throws {
        let diffID = try Digest(parsing: Self.diffIDs[0])
        #expect(ChainID.chain([diffID]) == [diffID])
        #expect(ChainID.of([]) == nil)
    }

    /// Derived by hand with `printf '%s' "<chain0> <diff1>" | sha256sum`.
    @Test func chainOfTwoMatchesAHandComputedValue() throws {
        let digests = try Self.diffIDs.map { try Digest(parsing: $0) }
        #expect(ChainID.of(digests)?.description == "sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f")
    }

    /// Three layers, the expected values computed at test time by coreutils.
    @Test func chainOfThreeMatchesSha256sum() throws {
        let digests = [Digest.sha256(of: Array("a".utf8)), Digest.sha256(of: Array("b".utf8)), Digest.sha256(of: Array("c".utf8))]
        var expected = [digests[0].description]
        for diffID in digests.dropFirst() {
            let result = try ProcessRunner.run(
                URL(fileURLWithPath: "/bin/sh"), ["-c", "printf '%s %s' \"$0\" \"$1\" | sha256sum", expected.last!, diffID.description])
            expected.append("sha256:" + String(result.stdout.prefix(64)))
        }
        #expect(ChainID.chain(digests).map(\.description) == expected)
        #expect(RootFS(diffIDs: digests).chainIDs.map(\.description) == expected)
    }
}
