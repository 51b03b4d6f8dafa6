import Foundation
import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// A seeded mutation test over the conformance Dockerfiles: the quick, always-on sibling of
/// the libFuzzer target in fuzz/. Every mutant goes through every frontend stage; a crash
/// kills the test process, so reaching the end is the assertion that matters — plus a check
/// that the mutants really were varied (the test must be able to fail if the generator dies).
@Suite struct FrontendMutationTests {
    /// Fragments that steer mutants into the frontend's tricky corners.
    static let fragments: [[UInt8]] = [
        "\\\n", "`\n", "\r\n", "<<EOF\n", "<<-'E'\nx\n\tE\n", "${", "${A:-", "${A/b/c}", "$", "\"", "'", "[\"a\",",
        "]", "--mount=type=cache,target=/x ", "--from=0 ", "# escape=`\n", "\u{FEFF}", "ONBUILD ", "FROM a AS b\n",
        "ARG X=${Y:?no}\n", "COPY --chmod=999 a b\n", "HEALTHCHECK --interval=1h2m CMD x\n", "\t", " ", "\0", "\u{00e9}",
        "EXPOSE 80-90/udp\n", "ENV a=\"b c\" d=e\n", "**/!", "[a-", "\\",
    ].map { Array($0.utf8) }

    static func seeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for dir in try Conformance.entries("dockerfile-parser/testfiles") {
            seeds.append(Array(try Conformance.data("dockerfile-parser/testfiles/\(dir)/Dockerfile")))
        }
        for name in try Conformance.entries("dockerfile-parser/reference-snippets") where name.hasSuffix(".Dockerfile") {
            seeds.append(Array(try Conformance.data("dockerfile-parser/reference-snippets/\(name)")))
        }
        return seeds
    }

    static func mutate(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0...rng.below(4) {
            let at = rng.below(bytes.count + 1)
            switch rng.below(5) {
            case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.insert(contentsOf: fragments[rng.below(fragments.count)], at: at)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + rng.below(16) + 1))
            case 3:
                let from = rng.below(bytes.count + 1)
                let slice = bytes[from..<min(bytes.count, from + rng.below(64))]
                bytes.insert(contentsOf: slice, at: at)
            default: bytes.insert(contentsOf: fragments[rng.below(fragments.count)].reversed(), at: at)
            }
        }
        return bytes
    }

    @Test(arguments: [1, 2, 3, 4])
    func mutantsNeverCrashTheFrontend(seed: UInt64) throws {
        let seeds = try Self.seeds()
        #expect(seeds.count > 150)
        var rng = SeededGenerator(seed: seed)
        var distinct = Set<[UInt8]>()
        for _ in 0..<1500 {
            let mutant = Self.mutate(seeds[rng.below(seeds.count)], &rng)
            distinct.insert(mutant)
            FrontendExercise.run(mutant)
        }
        #expect(distinct.count > 1000)
    }
}
