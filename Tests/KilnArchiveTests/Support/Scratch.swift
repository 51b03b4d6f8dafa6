import Foundation
import KilnTestSupport

/// A temporary directory removed when the test ends.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        // Paths longer than PATH_MAX (the deep hostile case) defeat FileManager; GNU rm walks with openat.
        if (try? FileManager.default.removeItem(at: url)) == nil {
            _ = try? ProcessRunner.run(URL(fileURLWithPath: "/bin/rm"), ["-rf", url.path])
        }
    }

    /// A path inside the scratch directory.
    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    /// Creates and returns a directory inside the scratch directory.
    func directory(_ relative: String) throws -> URL {
        let dir = path(relative)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Runs the real tools that check what the layer code writes.
enum Tool {
    /// Runs `command` from PATH, failing the test on a non-zero status.
    @discardableResult
    static func run(_ command: String, _ arguments: [String], stdin: Data? = nil) throws -> KilnBinary.Result {
        try ProcessRunner.checked(command, arguments, stdin: stdin)
    }

    /// Runs a Python snippet with `arguments` in `sys.argv[1:]`, returning its standard output.
    static func python(_ script: String, _ arguments: [String] = []) throws -> String {
        try run("python3", ["-c", script] + arguments).stdout
    }

    /// `sha256:<hex>` of a file, by `sha256sum`.
    static func sha256(of file: URL) throws -> String {
        let out = try run("sha256sum", [file.path]).stdout
        return "sha256:" + out.prefix(64)
    }

    /// The bytes a decompression command writes to standard output.
    static func output(_ command: String, _ arguments: [String]) throws -> Data {
        try run(command, arguments).stdoutData
    }
}
