import Foundation

/// Runs the `kiln` executable built beside the test bundle, as a user would.
public enum KilnBinary {
    /// The built `kiln` binary: next to the test bundle in the build folder.
    public static let url: URL = {
        if let env = ProcessInfo.processInfo.environment["KILN_BINARY"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // On Linux the test runner is `<build>/debug/KilnPackageTests.xctest`; step out of any bundle folder.
        while dir.pathExtension == "xctest" || dir.lastPathComponent == "Contents" || dir.lastPathComponent == "MacOS" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("kiln")
    }()

    /// What one run printed and how it ended.
    public struct Result: Sendable {
        /// Exit status.
        public var status: Int32
        /// Standard output, decoded as UTF-8.
        public var stdout: String
        /// Standard error, decoded as UTF-8.
        public var stderr: String
        /// Standard output, raw bytes.
        public var stdoutData: Data
    }

    /// Runs `kiln` with `arguments`, optionally feeding `stdin`, and waits for it.
    public static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
                           currentDirectory: URL? = nil) throws -> Result {
        try ProcessRunner.run(url, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory)
    }
}
