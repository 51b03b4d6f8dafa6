import Foundation
import KilnDockerfile

/// The `--format json` view of `kiln debug parse`: the whole frontend, typed.
enum DebugParseJSON {
    /// The rendered JSON and the warnings to report beside it.
    struct Output {
        var json: Data
        var warnings: [DockerfileWarning]
    }

    /// Parses, types and groups `bytes` into stages; throws the first Dockerfile error.
    static func render(_ bytes: [UInt8], fileName: String) throws -> Output {
        let dockerfile = try Dockerfile(parsing: bytes)
        let encoder = JSONEncoder()
        // Sorted keys keep the output stable for scripts and diffs.
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Output(json: try encoder.encode(dockerfile), warnings: dockerfile.warnings)
    }
}
