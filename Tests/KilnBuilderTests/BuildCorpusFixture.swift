import Foundation
import Testing

/// One fixture of the build corpus: `Fixtures/corpus/NN-name/` holding a `Dockerfile`, its
/// context files and `expect.json` (decoded as ``BuildCorpusExpectation``). The fixture folder is
/// the build context.
struct BuildCorpusFixture: Sendable, CustomTestStringConvertible {
    /// `NN-name`, the folder's name.
    let name: String
    /// The fixture folder: the build context.
    let directory: URL
    /// What building it must give.
    let expectation: BuildCorpusExpectation

    var testDescription: String { name }

    /// The Dockerfile Kiln builds.
    var dockerfile: URL { directory.appendingPathComponent("Dockerfile") }

    /// The Dockerfile buildah builds: a stand-in for syntax buildah 1.28 lacks, else the same one.
    var buildahDockerfile: URL {
        expectation.buildahDockerfile.map { directory.appendingPathComponent($0) } ?? dockerfile
    }

    /// The corpus folder, found from this file's path.
    static let corpusDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/corpus")

    /// Files the corpus HTTP server serves (for `ADD <url>`).
    static let servedDirectory = corpusDirectory.appendingPathComponent("_served")

    /// Every fixture (a folder), sorted by name. Folders starting with `_` are support files, not
    /// fixtures. A fixture that cannot be read is a test failure, reported by ``BuildCorpusTests``.
    static let all: [BuildCorpusFixture] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            let path = corpusDirectory.appendingPathComponent(name).path
            return !name.hasPrefix("_") && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted().map { name in
            let directory = corpusDirectory.appendingPathComponent(name)
            let expectation: BuildCorpusExpectation
            do {
                let data = try Data(contentsOf: directory.appendingPathComponent("expect.json"))
                expectation = try JSONDecoder().decode(BuildCorpusExpectation.self, from: data)
            } catch {
                expectation = BuildCorpusExpectation(description: "unreadable expect.json: \(error)", unreadable: true)
            }
            return BuildCorpusFixture(name: name, directory: directory, expectation: expectation)
        }
    }()

    /// The fixture called `name`.
    static func named(_ name: String) throws -> BuildCorpusFixture {
        guard let fixture = all.first(where: { $0.name == name }) else {
            throw BuildCorpusError("no corpus fixture named \(name)")
        }
        return fixture
    }

    /// The build args for this fixture: `expect.json`'s, with `{{http}}` replaced by the corpus
    /// HTTP server's URL, plus `BASE` (the busybox image) and, for a child, `PARENT`.
    func buildArgs(base: String, http: String, parent: String?) -> [String: String] {
        var arguments = (expectation.buildArgs ?? [:]).mapValues { $0.replacingOccurrences(of: "{{http}}", with: http) }
        arguments["BASE"] = base
        if let parent { arguments["PARENT"] = parent }
        return arguments
    }
}

/// `expect.json`: what building a fixture must give, with either tool.
struct BuildCorpusExpectation: Decodable, Sendable {
    /// What the fixture covers.
    var description: String
    /// Build args beyond `BASE`; `{{http}}` stands for the corpus HTTP server's URL.
    var buildArgs: [String: String]?
    /// `--target`.
    var target: String?
    /// A Dockerfile in the fixture for buildah to build instead (syntax buildah 1.28 lacks);
    /// the `differences` entry with field `buildah` says why.
    var buildahDockerfile: String?
    /// A fixture built first whose image becomes the `PARENT` build arg (ONBUILD).
    var parent: String?
    /// What running the image's entrypoint and command must print.
    var run: RunExpectation?
    /// Paths that must exist in the final rootfs.
    var exists: [String]?
    /// Paths that must not exist in the final rootfs.
    var absent: [String]?
    /// Set when the build must fail.
    var fail: FailureExpectation?
    /// Every intended difference between Kiln's image and buildah's.
    var differences: [Difference]?
    /// Set (only in code) when `expect.json` could not be decoded.
    var unreadable: Bool?

    /// The output of the container.
    struct RunExpectation: Decodable, Sendable {
        /// Standard output, whitespace-trimmed, must equal this.
        var stdout: String?
        /// Standard output must contain each of these.
        var contains: [String]?
    }

    /// A build that must fail.
    struct FailureExpectation: Decodable, Sendable {
        /// Kiln's error output must contain each of these.
        var contains: [String]
        /// buildah's error output must contain each of these.
        var buildahContains: [String]?
    }

    /// One intended difference: `field` is a config field name (`Env`, `Labels`, …), `history`,
    /// `layers`, `file:/path` (that path and what is under it), or `buildah` (a note on the
    /// buildah stand-in, compared as usual).
    struct Difference: Decodable, Sendable {
        /// What differs.
        var field: String
        /// Why the difference is intended.
        var reason: String
    }

    /// The compared fields this fixture leaves out, from ``differences``.
    var ignoredFields: Set<String> { Set((differences ?? []).map(\.field)) }
}

/// A corpus test's own failure, with a message saying what was wrong.
struct BuildCorpusError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
