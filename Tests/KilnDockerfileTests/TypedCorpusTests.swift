import Foundation
import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// One real-world Dockerfile of the corpus manifest.
struct CorpusFile: CustomTestStringConvertible, Sendable {
    var path: String
    var testDescription: String { path }

    static func all() throws -> [CorpusFile] {
        struct Manifest: Decodable {
            struct Entry: Decodable { var file: String; var category: String }
            var entries: [Entry]
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Conformance.data("dockerfile-corpus/manifest.json"))
        return manifest.entries.filter { $0.category == "dockerfile" }.map { CorpusFile(path: $0.file) }
    }
}

/// One reference-manual snippet, with why it must fail typing when it must.
struct ReferenceSnippet: CustomTestStringConvertible, Sendable {
    var file: String
    /// `nil` when the snippet must type; otherwise the reason and the start of the expected error.
    var expectedFailure: (reason: String, message: String)?
    var testDescription: String { file }

    static func all() throws -> [ReferenceSnippet] {
        struct Index: Decodable {
            struct Snippet: Decodable { var file: String; var referenceParseOk: Bool }
            var snippets: [Snippet]
        }
        let index = try JSONDecoder().decode(Index.self, from: Conformance.data("dockerfile-parser/reference-snippets/index.json"))
        return index.snippets.filter(\.referenceParseOk).map { ReferenceSnippet(file: $0.file, expectedFailure: expectedFailures[$0.file]) }
    }

    /// Snippets of the reference manual that are fragments or deliberately wrong examples.
    static let expectedFailures: [String: (reason: String, message: String)] = [
        "001.Dockerfile": ("syntax illustration with the placeholder keyword INSTRUCTION", "unknown instruction: INSTRUCTION"),
        "005.Dockerfile": ("shows that a continued comment is not a directive: `tive=value` becomes an instruction",
                           "unknown instruction: TIVE=VALUE"),
        "029.Dockerfile": ("FROM synopsis with [optional] placeholders", "FROM requires either one or three arguments"),
        "030.Dockerfile": ("FROM synopsis with [optional] placeholders", "FROM requires either one or three arguments"),
        "031.Dockerfile": ("FROM synopsis with [optional] placeholders", "FROM requires either one or three arguments"),
        "039.Dockerfile": ("RUN --mount synopsis with [optional] placeholders", "unexpected key '[type'"),
        "045.Dockerfile": ("RUN --network synopsis with a <TYPE> placeholder", "unsupported network mode \"<TYPE>\""),
        "047.Dockerfile": ("RUN --security synopsis with a <sandbox|insecure> placeholder", "unsupported security mode"),
    ]
}

@Suite struct TypedCorpusTests {
    @Test(arguments: try CorpusFile.all())
    func corpusFileTypes(_ file: CorpusFile) throws {
        let bytes = try Conformance.data("dockerfile-corpus/" + file.path)
        do throws(DockerfileError) {
            let dockerfile = try Dockerfile(parsing: bytes)
            #expect(!dockerfile.stages.isEmpty)
            // Every named stage (and the default target) also resolves with the default build args.
            for target in dockerfile.stages.compactMap(\.name) + [nil] as [String?] {
                let plan = try dockerfile.plan(BuildOptions(target: target))
                #expect(plan.stages.last?.index == (try dockerfile.targetStage(target)).index)
            }
        } catch {
            Issue.record("\(error.rendered(fileName: file.path))")
        }
    }

    /// Snippets are typed instruction by instruction (many are fragments without `FROM`);
    /// those that start a stage (only `ARG`s before the first `FROM`) are also grouped into a
    /// ``Dockerfile``. Snippets that must fail are listed with their reason.
    @Test(arguments: try ReferenceSnippet.all())
    func referenceSnippet(_ snippet: ReferenceSnippet) throws {
        let bytes = try Conformance.data("dockerfile-parser/reference-snippets/" + snippet.file)
        do throws(DockerfileError) {
            let parsed = try DockerfileParser.parse(bytes)
            for node in parsed.nodes {
                do throws(DockerfileError) {
                    _ = try Instruction(node: node)
                } catch {
                    throw error.withSourceLine(from: parsed.sourceLines)
                }
            }
            let startsWithStage = parsed.nodes.first { $0.keyword != "arg" }?.keyword == "from"
            if startsWithStage { _ = try Dockerfile(parsed: parsed) }
            if let expected = snippet.expectedFailure { Issue.record("expected failure (\(expected.reason)) but it typed") }
        } catch {
            guard let expected = snippet.expectedFailure else {
                Issue.record("\(error.rendered(fileName: snippet.file))")
                return
            }
            #expect(error.message.hasPrefix(expected.message), "\(expected.reason): got \(error.message)")
        }
    }
}
