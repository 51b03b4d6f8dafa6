import Foundation

/// Where the shared conformance data lives: `$KILN_CONFORMANCE_DIR`, else `../shared/conformance`
/// beside the package root (the layout of every checkout and of CI).
public enum Conformance {
    /// The package root, found from this file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // KilnTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The conformance folder.
    public static let directory: URL = {
        if let env = ProcessInfo.processInfo.environment["KILN_CONFORMANCE_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance")
    }()

    /// A path inside the conformance folder.
    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    /// The exact bytes of a conformance file.
    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// Sorted names of the entries of a conformance folder.
    public static func entries(_ relativePath: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(relativePath).path).sorted()
    }
}
