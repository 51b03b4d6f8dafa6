import Foundation
import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// The real-world corpus (`dockerfile-corpus/manifest.json`), one test case per file: no crash,
/// `category: dockerfile` files parse, and every file the reference accepted dumps identically,
/// with the same instruction lines and heredocs.
@Suite struct CorpusTests {
    static let root = "dockerfile-corpus"

    static func cases() -> [ParserCase] {
        let manifest = ParserFixtures.json("\(root)/manifest.json")
        return (manifest["entries"] as? [[String: Any]] ?? []).map { entry in
            let reference = entry["referenceParse"] as? [String: Any] ?? [:]
            let ok = reference["ok"] as? Bool ?? false
            let isDockerfile = entry["category"] as? String == "dockerfile"
            return ParserCase(path: "\(root)/\(entry["file"] as? String ?? "")",
                              resultPath: ok ? (reference["expectedResult"] as? String).map { "\(root)/\($0)" } : nil,
                              expectError: !ok && !isDockerfile,
                              instructions: ParserFixtures.instructionTriples(reference["instructions"]),
                              heredocs: ParserFixtures.heredocsByIndex(reference["heredocs"]),
                              mustParse: isDockerfile || ok)
        }
    }

    @Test func manifestIsComplete() {
        #expect(Self.cases().count == 471)
        #expect(Self.cases().filter(\.mustParse).count >= 444)
    }

    @Test(arguments: cases())
    func corpusFile(_ testCase: ParserCase) {
        #expect(ParserFixtures.check(testCase) == [])
    }

    @Test func wholeCorpusParsesQuickly() throws {
        let inputs = Self.cases().map { ParserFixtures.bytes($0.path) }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for input in inputs { _ = try? DockerfileParser.parse(input) }
        }
        // Debug builds are several times slower than release; this only guards against blow-ups.
        #expect(elapsed < .seconds(20))
    }
}
