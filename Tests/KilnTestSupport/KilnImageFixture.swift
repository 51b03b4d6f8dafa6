import Foundation

/// Kiln's own image (`deploy/Dockerfile`), made once per test run by `scripts/kiln-image` from the
/// built `kiln` binary (a debug build loads the Swift runtime dynamically; the script stages
/// those libraries too), so stand-in tests run Kiln the way a Pod does.
public enum KilnImageFixture {
    /// The made image.
    public struct Image: Sendable {
        /// The image as a docker-archive (`docker load -i`), tagged ``tag``.
        public let dockerArchive: URL
        /// The image as an OCI layout, ref name ``tag``.
        public let layout: URL
        /// Its reference.
        public let tag: String
        /// What the script printed (the size line).
        public let report: String
    }

    /// The image, made on first use; later calls in the same run return the same one.
    public static func image() throws -> Image { try made.get() }

    private static let made: Result<Image, any Error> = Result {
        let script = Conformance.packageRoot.appendingPathComponent("scripts/kiln-image")
        let out = directory.appendingPathComponent("out")
        let tag = "kiln-test:latest"
        let result = try ProcessRunner.run(script, ["--binary", KilnBinary.url.path, "--out", out.path, "--tag", tag],
                                           environment: ["KILN_ROOT": directory.appendingPathComponent("root").path])
        guard result.status == 0 else {
            throw BaseImages.FixtureError(description: "scripts/kiln-image failed (\(result.status)): \(result.stderr.suffix(4000))")
        }
        return Image(dockerArchive: out.appendingPathComponent("kiln-image.tar"), layout: out.appendingPathComponent("oci"),
                     tag: tag, report: result.stdout)
    }

    /// Where this run's image is made; removed when the test process exits.
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-image-fixture-\(ProcessInfo.processInfo.processIdentifier)")
        atexit {
            let url = FileManager.default.temporaryDirectory
                .appendingPathComponent("kiln-image-fixture-\(ProcessInfo.processInfo.processIdentifier)")
            try? FileManager.default.removeItem(at: url)
        }
        return url
    }()
}
