import Foundation
import KilnTestSupport

/// Builds corpus fixtures with buildah, once per fixture per test run: the buildah test checks the
/// outcome against `expect.json`, and the Kiln test compares Kiln's image with the same outcome.
actor BuildCorpusBuildah {
    /// The run's builds.
    static let shared = BuildCorpusBuildah()

    private var outcomes: [String: BuildCorpusOutcome] = [:]

    /// buildah's outcome for `fixture`, built on first request.
    func outcome(for fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment) throws -> BuildCorpusOutcome {
        if let outcome = outcomes[fixture.name] { return outcome }
        let outcome = try Self.build(fixture, in: environment)
        outcomes[fixture.name] = outcome
        return outcome
    }

    /// Builds `fixture` (and first its parent, pushed to the registry) with a private buildah.
    static func build(_ fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment) throws -> BuildCorpusOutcome {
        let buildah = try Buildah()
        defer { buildah.remove() }
        var parent: String?
        if let parentName = fixture.expectation.parent {
            let parentFixture = try BuildCorpusFixture.named(parentName)
            let result = try buildah.build(request(parentFixture, tag: "corpus-parent", environment: environment, parent: nil))
            guard result.status == 0 else { throw BuildCorpusError("buildah could not build the parent \(parentName): \(result.stderr)") }
            parent = "\(environment.registry.host)/corpus/\(parentName):buildah-\(UUID().uuidString.prefix(8).lowercased())"
            try buildah.push("corpus-parent", to: "docker://\(parent!)")
        }
        let tag = "corpus-\(fixture.name)"
        let result = try buildah.build(request(fixture, tag: tag, environment: environment, parent: parent))
        guard result.status == 0 else {
            return .failed(status: result.status, output: result.stdout + result.stderr)
        }
        let layout = buildah.directory.appendingPathComponent("layout")
        try buildah.push(tag, to: "oci:\(layout.path):latest")
        let image = try BuildCorpusImage(configDocument: buildah.dockerConfig(of: tag))
        return .built(try BuildCorpusBuiltImage(image: image, layout: layout, refName: "latest", work: buildah.directory))
    }

    private static func request(
        _ fixture: BuildCorpusFixture, tag: String, environment: BuildCorpusEnvironment, parent: String?
    ) -> Buildah.BuildRequest {
        var request = Buildah.BuildRequest(context: fixture.directory, dockerfile: fixture.buildahDockerfile, tag: tag)
        request.buildArgs = fixture.buildArgs(base: environment.base, http: environment.httpURL, parent: parent)
        request.target = fixture.expectation.target
        return request
    }
}
