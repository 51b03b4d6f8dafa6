import Foundation
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// Issue 13's proof: every fixture of the builder corpus, built with `SOURCE_DATE_EPOCH=0` in
    /// each isolation mode Kiln has (rootless, userns-pod, chroot), gives the image digest root
    /// gives, or fails as root does. A fixture a mode cannot build is listed in
    /// ``IsolationLimits`` with its reason, and must fail with that reason. Serialized, as the
    /// corpus suite is: 200-odd builds at once starve every other suite on 2 cores (a registry
    /// mirror's connection then times out and a pull falls back to the origin).
    @Suite(
        "Build corpus in every isolation mode", .serialized, .buildCorpusEnvironment,
        .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
        .enabled(if: TestUser.isAvailable, "needs root (to add test users), unshare, newuidmap, setpriv and user namespaces"))
    struct IsolationParityTests {
        static let modes = ["rootless", "userns-pod", "chroot"]

        @Test("the fixture gives root's image digest in the mode", arguments: BuildCorpusFixture.all, modes)
        func sameDigestAsRoot(_ fixture: BuildCorpusFixture, mode: String) async throws {
            let environment = try BuildCorpusEnvironment.required()
            let reference = try await RootReference.shared.outcome(of: fixture, in: environment)
            let outcome = try IsolationParity.build(fixture, in: environment, as: try IsolatedKiln.named(mode))
            if let reason = IsolationLimits.reason(fixture: fixture.name, mode: mode) {
                guard case .failure(let failure) = outcome else {
                    Issue.record("\(fixture.name) is listed as not buildable in \(mode) (\(reason.why)) but built")
                    return
                }
                #expect(failure.output.contains(reason.says), "\(fixture.name) in \(mode) should fail saying \"\(reason.says)\":\n\(failure.output)")
                return
            }
            switch (reference, outcome) {
            case (.success(let root), .success(let image)):
                if let why = IsolationLimits.unreproducible[fixture.name] {
                    // No two builds agree on its bytes (\(why)): compare every entry's type, mode,
                    // owner, size and name instead.
                    #expect(root.entries.lines == image.entries.lines, """
                        \(fixture.name): \(mode) built other entries than root:
                        \(root.entries.differences(from: image.entries).prefix(40).joined(separator: "\n"))
                        """)
                    return
                }
                #expect(root.summary.manifestDigest == image.summary.manifestDigest, """
                    \(fixture.name): \(mode) built another image than root
                    \(root.entries.differences(from: image.entries).prefix(40).joined(separator: "\n"))
                    root config \(root.summary.configWithoutCreated)
                    \(mode) config \(image.summary.configWithoutCreated)
                    """)
            case (.failure, .failure):
                #expect(fixture.expectation.fail != nil, "\(fixture.name) fails as root too, but it is expected to build")
            case (.success, .failure(let failure)):
                Issue.record("\(fixture.name): root builds it, \(mode) fails (\(failure.status)):\n\(failure.output.suffix(3000))")
            case (.failure(let failure), .success):
                Issue.record("\(fixture.name): \(mode) builds it, root fails (\(failure.status)):\n\(failure.output.suffix(3000))")
            }
        }

        /// Root's build of each fixture, made once for all modes.
        actor RootReference {
            static let shared = RootReference()
            private var outcomes: [String: Task<Result<IsolationParity.Image, BuildCorpusKiln.Failure>, any Error>] = [:]

            func outcome(of fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment) async throws
                -> Result<IsolationParity.Image, BuildCorpusKiln.Failure> {
                if let task = outcomes[fixture.name] { return try await task.value }
                let task = Task { try IsolationParity.build(fixture, in: environment, as: .root) }
                outcomes[fixture.name] = task
                return try await task.value
            }
        }
    }
}

/// Builds for the parity check.
enum IsolationParity {
    /// What is compared of a built image: the layout's summary (manifest digest, layers,
    /// config) and its layers' entries, for messages.
    struct Image: Sendable {
        var summary: OCILayoutSummary
        var entries: LayerEntries
    }

    static func build(_ fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment,
                      as kiln: IsolatedKiln) throws -> Result<Image, BuildCorpusKiln.Failure> {
        try BuildCorpusKiln.produce(fixture, in: environment, as: kiln, adding: ["SOURCE_DATE_EPOCH": "0"]) { layout, _ in
            Image(summary: try OCILayoutSummary(layout: layout), entries: try LayerEntries(layout: layout))
        }
    }
}

/// The corpus fixtures a mode cannot build, and why: the one list the README repeats.
enum IsolationLimits {
    /// Why a fixture does not build in a mode, and the text its error must contain.
    struct Reason: Sendable {
        var why: String
        var says: String
    }

    static let table: [String: [String: Reason]] = [
        "chroot": [
            "14-run-network-none": Reason(
                why: "a chrooted step has no network namespace of its own, so RUN --network=none cannot be honoured",
                says: "RUN --network=none cannot be honoured in chroot isolation"),
        ],
    ]

    /// Fixtures whose bytes differ from build to build in any mode (root against root too).
    static let unreproducible = ["48-big-file": "its RUN writes 50 MB from /dev/urandom"]

    static func reason(fixture: String, mode: String) -> Reason? { table[mode]?[fixture] }
}
