import Foundation
import KilnOCI
import Testing
@testable import KilnCache

@Suite struct CacheMissExplanationTests {
    let baseA = Digest.sha256(of: Data("base a".utf8))
    let baseB = Digest.sha256(of: Data("base b".utf8))

    func run(_ command: String, parent: Digest?, env: [String] = ["PATH=/bin"], args: [String: String] = [:]) -> CacheKeyInput {
        CacheKeyInput(parent: parent, parentIsBase: true, platform: "linux/amd64", operation: "RUN", instruction: command, environment: env,
                      buildArgs: args)
    }

    func entry(_ input: CacheKeyInput, files: [String: String]? = nil) -> CacheEntry {
        CacheEntry(key: CacheKey(input), layer: nil, input: input, created: "2026-11-22T00:00:00Z", sourceFiles: files)
    }

    @Test func namesTheBuildArgThatChanged() {
        let old = entry(run("make", parent: baseA, args: ["BUILD_ID": "1"]))
        let explanation = CacheMissExplanation(miss: run("make", parent: baseA, args: ["BUILD_ID": "2"]), candidates: [old])
        #expect(explanation.closest == old.key)
        #expect(explanation.differences == [#"build arg BUILD_ID changed: "1" → "2""#])
    }

    @Test func namesEnvAndInstructionChanges() {
        let old = entry(run("make", parent: baseA, env: ["PATH=/bin", "CC=gcc"]))
        let miss = run("make all", parent: baseA, env: ["PATH=/bin", "CC=clang", "V=1"])
        let explanation = CacheMissExplanation(miss: miss, candidates: [old])
        #expect(explanation.differences == [
            "instruction changed: was make", #"env CC changed: "gcc" → "clang""#, #"env V added ("1")"#,
        ])
    }

    @Test func aChangedBaseIsReportedAsTheBase() {
        let old = entry(run("make", parent: baseA))
        let explanation = CacheMissExplanation(miss: run("make", parent: baseB), candidates: [old])
        #expect(explanation.differences.first == "base changed: \(baseA.encoded.prefix(12)) → \(baseB.encoded.prefix(12))")
        #expect(explanation.differences.count == 1)
    }

    @Test func namesTheCopiedFileThatChanged() {
        var input = CacheKeyInput(parent: baseA, platform: "linux/amd64", operation: "COPY", instruction: "COPY . /src",
                                  sourcesDigest: Digest.sha256(of: Data("v1".utf8)))
        let old = entry(input, files: ["a.c": "sha256:1", "b.c": "sha256:2", "old.h": "sha256:3"])
        input.sourcesDigest = Digest.sha256(of: Data("v2".utf8))
        let explanation = CacheMissExplanation(
            miss: input, sourceFiles: ["a.c": "sha256:1", "b.c": "sha256:9", "new.h": "sha256:4"], candidates: [old])
        #expect(explanation.differences == ["file b.c changed", "file new.h added", "file old.h removed"])
    }

    @Test func picksTheClosestOfSeveralCandidates() {
        let far = entry(run("make", parent: baseA, env: ["PATH=/usr/bin", "X=1"], args: ["A": "1"]))
        let near = entry(run("make", parent: baseA, env: ["PATH=/bin"], args: ["A": "1"]))
        let explanation = CacheMissExplanation(miss: run("make", parent: baseA, args: ["A": "2"]), candidates: [far, near])
        #expect(explanation.closest == near.key)
    }

    @Test func aRebuiltEarlierStepIsReportedAsSuch() {
        var old = run("make", parent: baseA)
        old.parentIsBase = false
        var miss = run("make", parent: baseB)
        miss.parentIsBase = false
        let explanation = CacheMissExplanation(miss: miss, candidates: [entry(old)])
        #expect(explanation.differences == ["an earlier step changed (parent \(baseA.encoded.prefix(12)) → \(baseB.encoded.prefix(12)))"])
    }

    @Test func nothingToCompareWith() {
        let explanation = CacheMissExplanation(miss: run("make", parent: baseA), candidates: [])
        #expect(explanation.closest == nil)
        #expect(explanation.description == "no earlier entry for this RUN step")
    }
}
