import Foundation
import KilnTestSupport
import Testing

/// Issue 5's proof: every Dockerfile of `Fixtures/corpus` built by buildah and by `kiln build`,
/// each image run with runc and checked against the fixture's `expect.json`, and Kiln's image
/// compared with buildah's (config, history and layer counts, final rootfs) minus the
/// fixture's listed intended differences. Serialized: buildah and runc are heavy on 2 cores.
@Suite(
    "Build corpus", .serialized, .buildCorpusEnvironment,
    .enabled(if: Buildah.isAvailable, Comment(rawValue: Buildah.unavailableReason)),
    .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
struct BuildCorpusTests {
    @Test("The corpus has at least 45 fixtures, each with a readable expect.json")
    func corpusIsComplete() throws {
        #expect(BuildCorpusFixture.all.count >= 45)
        for fixture in BuildCorpusFixture.all {
            #expect(fixture.expectation.unreadable == nil, "\(fixture.name): \(fixture.expectation.description)")
            #expect(FileManager.default.fileExists(atPath: fixture.dockerfile.path), "\(fixture.name) has no Dockerfile")
            #expect(FileManager.default.fileExists(atPath: fixture.buildahDockerfile.path), "\(fixture.name): buildah's Dockerfile is missing")
            if fixture.expectation.buildahDockerfile != nil {
                #expect(fixture.expectation.differences?.contains { $0.field == "buildah" } == true,
                        "\(fixture.name): a buildah stand-in needs a `buildah` difference saying why")
            }
            if let parent = fixture.expectation.parent {
                #expect(throws: Never.self) { try BuildCorpusFixture.named(parent) }
            }
        }
    }

    @Test("buildah builds the fixture as expect.json says", arguments: BuildCorpusFixture.all)
    func buildah(_ fixture: BuildCorpusFixture) async throws {
        let environment = try BuildCorpusEnvironment.required()
        let outcome = try await BuildCorpusBuildah.shared.outcome(for: fixture, in: environment)
        fixture.check(outcome, tool: "buildah", failureTexts: fixture.expectation.fail?.buildahContains)
    }

    @Test("kiln build builds the fixture as expect.json says and like buildah",
          .enabled(if: BuildCorpusKiln.hasBuildCommand, Comment(rawValue: BuildCorpusKiln.missingBuildCommandReason)),
          arguments: BuildCorpusFixture.all)
    func kiln(_ fixture: BuildCorpusFixture) async throws {
        let environment = try BuildCorpusEnvironment.required()
        let kiln = try BuildCorpusKiln.build(fixture, in: environment)
        fixture.check(kiln, tool: "kiln", failureTexts: fixture.expectation.fail?.contains)
        let buildah = try await BuildCorpusBuildah.shared.outcome(for: fixture, in: environment)
        guard case .built(let kilnImage) = kiln, case .built(let buildahImage) = buildah else { return }
        let mismatches = BuildCorpusComparison.mismatches(
            kiln: kilnImage, buildah: buildahImage, ignoring: fixture.expectation.ignoredFields)
        #expect(mismatches.isEmpty, "\(fixture.name): kiln and buildah differ:\n\(mismatches.joined(separator: "\n"))")
    }
}
