import Foundation
import KilnTestSupport

/// The tools no one here wrote that check Kiln's output: where they are, and small wrappers.
enum ExternalTools {
    /// The absolute path of `name` on PATH (then the system directories), or nil when it is not installed.
    static func find(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        for directory in path + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs `tool`, failing the test with its stderr when it exits non-zero.
    static func run(_ tool: String, _ arguments: [String]) throws -> KilnBinary.Result {
        guard let url = find(tool) else { throw ToolError(description: "\(tool) is not installed") }
        return try ProcessRunner.checked(url, arguments)
    }

    /// Runs `tool` and decodes its standard output as a JSON object.
    static func json(_ tool: String, _ arguments: [String]) throws -> [String: Any] {
        let output = try run(tool, arguments).stdoutData
        guard let object = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw ToolError(description: "\(tool) did not print a JSON object")
        }
        return object
    }

    /// Validates documents against the OCI image-spec schemas; returns the error messages of the invalid ones.
    static func schemaErrors(_ documents: [(mediaType: String, file: URL)]) throws -> [String] {
        try OCISchema.errors(documents)
    }

    struct ToolError: Error, CustomStringConvertible {
        let description: String
    }
}
