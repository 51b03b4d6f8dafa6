import Foundation
import KilnTestSupport

/// Builds corpus fixtures with the built `kiln` binary, as a user would:
/// `kiln build --progress plain --output type=oci,dest=DIR -f Dockerfile CONTEXT`, each build
/// with a fresh `KILN_ROOT`.
enum BuildCorpusKiln {
    /// Whether this binary has `kiln build` (`kiln build --help` succeeds). While the command is
    /// not in the branch the Kiln half is skipped with ``missingBuildCommandReason``; once it is,
    /// this is always true and nothing is skipped.
    static let hasBuildCommand: Bool = {
        // ArgumentParser answers `--help` after an unknown subcommand with the root help and 0.
        guard let help = try? KilnBinary.run(["build", "--help"]) else { return false }
        return help.status == 0 && help.stdout.contains("USAGE: kiln build")
    }()

    /// With `KILN_CORPUS_BASE_FROM_LAYOUT=1` Kiln reads the base (and an ONBUILD parent) from
    /// its OCI layout through `--build-context REF=oci-layout://…` instead of pulling it from the
    /// registry: for a Kiln that cannot pull yet. The `FROM` text is the same registry reference.
    static let baseFromLayout = ProcessInfo.processInfo.environment["KILN_CORPUS_BASE_FROM_LAYOUT"] == "1"

    /// Why the Kiln half is skipped.
    static let missingBuildCommandReason = "`kiln build --help` fails: kiln build is not in this binary yet"

    /// Builds `fixture` (after its parent, pushed to the registry) into an OCI layout and reads it.
    static func build(_ fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment) throws -> BuildCorpusOutcome {
        switch try produce(fixture, in: environment, as: .root, adding: [:], read: { layout, work in
            let document = try BuildCorpusImage.configDocument(ofLayout: layout).document
            return try BuildCorpusBuiltImage(
                image: BuildCorpusImage(configDocument: document), layout: layout,
                refName: refName(of: layout, work: work), work: work)
        }) {
        case .success(let image): return .built(image)
        case .failure(let failure): return .failed(status: failure.status, output: failure.output)
        }
    }

    /// How a build that did not make an image ended.
    struct Failure: Error {
        var status: Int32
        var output: String
    }

    /// Builds `fixture` (after its parent) with `kiln` started as `isolated` says and
    /// `variables` added (e.g. `SOURCE_DATE_EPOCH`), and returns what `read` makes of the OCI
    /// layout (given with the build's work directory, removed afterwards), or how it failed.
    static func produce<Image>(_ fixture: BuildCorpusFixture, in environment: BuildCorpusEnvironment, as isolated: IsolatedKiln,
                               adding variables: [String: String], read: (URL, URL) throws -> Image) throws -> Result<Image, Failure> {
        let work = try isolated.workDirectory("corpus")
        let launch = Launch(kiln: isolated, variables: variables)
        defer { try? FileManager.default.removeItem(at: work) }
        var parent: BuiltParent?
        if let parentName = fixture.expectation.parent {
            let parentLayout = work.appendingPathComponent("parent-layout")
            let result = try run(try BuildCorpusFixture.named(parentName), output: parentLayout, work: work,
                                 environment: environment, parent: nil, launch: launch)
            guard result.status == 0 else { throw BuildCorpusError("kiln could not build the parent \(parentName): \(result.stderr)") }
            let name = try refName(of: parentLayout, work: work)
            // Tagged by its own digest: the same parent gets the same reference, so a child's
            // base annotations (and digest) do not depend on which build pushed it.
            let digest = try OCILayoutSummary(layout: parentLayout).manifestDigest
            let reference = try environment.push(layout: parentLayout, refName: name, as: "corpus/\(parentName)",
                                                 tag: "kiln-\(digest.dropFirst("sha256:".count).prefix(16))")
            parent = BuiltParent(reference: reference, layout: parentLayout, refName: name)
        }
        let layout = work.appendingPathComponent("layout")
        let result = try run(fixture, output: layout, work: work, environment: environment, parent: parent, launch: launch)
        guard result.status == 0 else {
            // A failed build writes no image: no layout, or one that lists nothing.
            if let index = try? Data(contentsOf: layout.appendingPathComponent("index.json")),
               let manifests = (try? JSONSerialization.jsonObject(with: index) as? [String: Any])?["manifests"] as? [Any],
               !manifests.isEmpty {
                throw BuildCorpusError("\(fixture.name): kiln failed (\(result.status)) but wrote an image to \(layout.path)")
            }
            // Nor a half-written one beside it (Kiln stages outputs next to their destination).
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix(".layout") }
            if !leftovers.isEmpty {
                throw BuildCorpusError("\(fixture.name): kiln failed (\(result.status)) and left \(leftovers) in \(work.path)")
            }
            return .failure(Failure(status: result.status, output: result.stdout + result.stderr))
        }
        return .success(try read(layout, work))
    }

    /// An ONBUILD parent Kiln built: pushed as `reference`, also kept as a layout.
    private struct BuiltParent {
        var reference: String
        var layout: URL
        var refName: String
    }

    /// How one fixture's builds start `kiln`.
    private struct Launch {
        var kiln: IsolatedKiln
        var variables: [String: String]
    }

    private static func run(
        _ fixture: BuildCorpusFixture, output: URL, work: URL, environment: BuildCorpusEnvironment, parent: BuiltParent?,
        launch: Launch
    ) throws -> KilnBinary.Result {
        var arguments = ["build", "--progress", "plain", "--output", "type=oci,dest=\(output.path)",
                         "-f", fixture.dockerfile.path]
        if baseFromLayout {
            let base = environment.baseImage
            arguments += ["--build-context", "\(environment.base)=oci-layout://\(base.layout.path):\(base.refName)"]
            if let parent {
                arguments += ["--build-context", "\(parent.reference)=oci-layout://\(parent.layout.path):\(parent.refName)"]
            }
        }
        let buildArgs = fixture.buildArgs(base: environment.base, http: environment.httpURL, parent: parent?.reference)
        for (key, value) in buildArgs.sorted(by: { $0.key < $1.key }) {
            arguments += ["--build-arg", "\(key)=\(value)"]
        }
        if let target = fixture.expectation.target { arguments += ["--target", target] }
        arguments += launch.kiln.buildFlags
        arguments.append(fixture.directory.path)
        let root = work.appendingPathComponent("kiln-root-\(UUID().uuidString.prefix(8))")
        return try launch.kiln.run(arguments, environment: launch.variables.merging(["KILN_ROOT": root.path]) { $1 }, in: work)
    }

    /// The layout's ref name for umoci and skopeo; a layout without one is copied to a tagged one
    /// in place (skopeo), so the corpus does not depend on how Kiln names its output.
    private static func refName(of layout: URL, work: URL) throws -> String {
        if let name = try BuildCorpusImage.configDocument(ofLayout: layout).refName { return name }
        let tagged = work.appendingPathComponent("tagged-\(UUID().uuidString.prefix(8))")
        try ProcessRunner.checked("skopeo", ["copy", "oci:\(layout.path)", "oci:\(tagged.path):latest"])
        try FileManager.default.removeItem(at: layout)
        try FileManager.default.moveItem(at: tagged, to: layout)
        return "latest"
    }
}
