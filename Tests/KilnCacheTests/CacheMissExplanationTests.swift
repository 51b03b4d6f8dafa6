import Foundation
import KilnOCI
import Testing
@testable import KilnCache

@Suite struct CacheMissExplanationTests {
    let baseA = Digest.sha256(of: Data("base a".utf8))
    let baseB = Digest.sha256(of: Data("base b".utf8))

    @Test func namesTheBuildArgThatChanged() {
        let old = SampleStep.run("make", parent: baseA, args: ["BUILD_ID": "1"]).entry()
        let explanation = CacheMissExplanation(miss: SampleStep.run("make", parent: baseA, args: ["BUILD_ID": "2"]).document,
                                               candidates: [old])
        #expect(explanation.closest == old.key)
        #expect(explanation.differences == [#"build arg BUILD_ID changed: "1" → "2""#])
    }

    @Test func namesEnvAndCommandChanges() {
        let old = SampleStep.run("make", parent: baseA, env: ["PATH=/bin", "CC=gcc"]).entry()
        let miss = SampleStep.run("make all", parent: baseA, env: ["PATH=/bin", "CC=clang", "V=1"]).document
        let explanation = CacheMissExplanation(miss: miss, candidates: [old])
        #expect(explanation.differences == [
            #"run.arguments changed: ["/bin/sh","-c","make"] → ["/bin/sh","-c","make all"]"#,
            #"env CC changed: "gcc" → "clang""#, #"env V added ("1")"#,
        ])
    }

    @Test func aChangedParentIsReported() {
        let old = SampleStep.run("make", parent: baseA).entry()
        let explanation = CacheMissExplanation(miss: SampleStep.run("make", parent: baseB).document, candidates: [old])
        #expect(explanation.differences == ["an earlier step or the base changed (parent \(baseA.encoded.prefix(12)) → \(baseB.encoded.prefix(12)))"])
    }

    @Test func namesTheCopiedFileThatChanged() {
        struct Copy: CacheKeyed {
            var parent: Digest?
            var platform = "linux/amd64"
            var copy: Body
            struct Body: Encodable { var instruction = "COPY . /src"; var contents: Digest }
            static let keyExclusions: [KeyExclusion] = []
        }
        let old = try! Copy(parent: baseA, copy: .init(contents: Digest.sha256(of: Data("v1".utf8)))).keyDocument()
        let oldEntry = CacheEntry(key: CacheKey(document: old), layer: nil, definition: old, created: "",
                                  sourceFiles: ["a.c": "sha256:1", "b.c": "sha256:2", "old.h": "sha256:3"])
        let miss = try! Copy(parent: baseA, copy: .init(contents: Digest.sha256(of: Data("v2".utf8)))).keyDocument()
        let explanation = CacheMissExplanation(
            miss: miss, sourceFiles: ["a.c": "sha256:1", "b.c": "sha256:9", "new.h": "sha256:4"], candidates: [oldEntry])
        #expect(explanation.differences == ["file b.c changed", "file new.h added", "file old.h removed"])
    }

    @Test func picksTheClosestOfSeveralCandidates() {
        let far = SampleStep.run("make", parent: baseA, env: ["PATH=/usr/bin", "X=1"], args: ["A": "1"]).entry()
        let near = SampleStep.run("make", parent: baseA, env: ["PATH=/bin"], args: ["A": "1"]).entry()
        let explanation = CacheMissExplanation(miss: SampleStep.run("make", parent: baseA, env: ["PATH=/bin"], args: ["A": "2"]).document,
                                               candidates: [far, near])
        #expect(explanation.closest == near.key)
    }

    @Test func aKeyBuiltOnOtherContentIsReportedAsSuch() {
        let step = SampleStep.run("make", parent: baseA)
        let explanation = CacheMissExplanation(miss: step.document, candidates: [step.entry(basis: ["parent": baseB])])
        #expect(explanation.closest == step.key)
        #expect(explanation.description.contains("built on other content"))
    }

    @Test func nothingToCompareWith() {
        let explanation = CacheMissExplanation(miss: SampleStep.run("make", parent: baseA).document, candidates: [])
        #expect(explanation.closest == nil)
        #expect(explanation.description == "no earlier entry for this RUN step")
    }
}
