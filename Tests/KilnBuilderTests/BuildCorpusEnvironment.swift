import Foundation
import KilnTestSupport
import Testing

/// What every corpus build shares: a loopback registry holding the busybox base image (the
/// fixtures' `BASE`) and an HTTP server for `ADD <url>` serving `Fixtures/corpus/_served`.
/// Started once for the suite by ``BuildCorpusEnvironmentTrait``, which always stops both.
struct BuildCorpusEnvironment: Sendable {
    /// The registry, also where parent images (ONBUILD) are pushed.
    let registry: TestRegistry
    /// The HTTP server's base URL, `http://127.0.0.1:PORT`.
    let httpURL: String
    /// The base image as an OCI layout (what was pushed as ``base``).
    let baseImage: BaseImages.BaseImage
    /// The base image reference passed as `BASE`.
    var base: String { "\(registry.host)/base/busybox:latest" }

    /// The environment of the running corpus suite.
    @TaskLocal static var current: BuildCorpusEnvironment?

    /// The environment, or an error saying the suite trait is missing.
    static func required() throws -> BuildCorpusEnvironment {
        guard let current else { throw BuildCorpusError("BuildCorpusEnvironmentTrait did not start the environment") }
        return current
    }

    /// Copies the OCI layout image `layout:refName` to the registry as `repository:tag` and
    /// returns its reference.
    func push(layout: URL, refName: String, as repository: String, tag: String) throws -> String {
        let reference = "\(registry.host)/\(repository):\(tag)"
        try ProcessRunner.checked("skopeo", [
            "copy", "--dest-tls-verify=false", "oci:\(layout.path):\(refName)", "docker://\(reference)",
        ])
        return reference
    }

    /// Serves a folder over HTTP/1.1 with Python's standard library.
    static let httpServerSource = """
        import functools, http.server, sys
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()

        """
}

/// Starts the ``BuildCorpusEnvironment`` around the whole suite and stops it afterwards.
struct BuildCorpusEnvironmentTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let base = try BaseImages.busybox()
        try await withTestRegistry { registry in
            let server = try await TestRegistryPythonServer.start(
                name: "corpus-http", source: BuildCorpusEnvironment.httpServerSource,
                arguments: { port, _ in [String(port), BuildCorpusFixture.servedDirectory.path] })
            try await withStopping(server, stop: { await $0.stop() }) { server in
                let environment = BuildCorpusEnvironment(
                    registry: registry, httpURL: "http://127.0.0.1:\(server.port)", baseImage: base)
                _ = try environment.push(layout: base.layout, refName: base.refName, as: "base/busybox", tag: "latest")
                try await BuildCorpusEnvironment.$current.withValue(environment) { try await function() }
            }
        }
    }
}

extension Trait where Self == BuildCorpusEnvironmentTrait {
    /// The corpus environment: registry with the base image and the HTTP server.
    static var buildCorpusEnvironment: Self { Self() }
}
