import Foundation

/// Runs a process to completion, capturing its output without deadlocking on full pipes.
public enum ProcessRunner {
    /// Runs `executable` with `arguments` and returns its status and output.
    public static func run(_ executable: URL, _ arguments: [String], stdin: Data? = nil,
                           environment: [String: String]? = nil, currentDirectory: URL? = nil) throws -> KilnBinary.Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString).out")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        let outHandle = try FileHandle(forWritingTo: outFile)
        let errHandle = try FileHandle(forWritingTo: errFile)
        process.standardOutput = outHandle
        process.standardError = errHandle
        let inPipe = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let stdin {
            inPipe.fileHandleForWriting.write(stdin)
            try? inPipe.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        let out = (try? Data(contentsOf: outFile)) ?? Data()
        let err = (try? Data(contentsOf: errFile)) ?? Data()
        return .init(status: process.terminationStatus,
                     stdout: String(decoding: out, as: UTF8.self),
                     stderr: String(decoding: err, as: UTF8.self),
                     stdoutData: out)
    }

    /// Runs `executable` and throws ``ProcessFailure`` (the command line, its status and its
    /// standard error) when it exits non-zero: for tools whose failure fails the test.
    @discardableResult
    public static func checked(_ executable: URL, _ arguments: [String], stdin: Data? = nil) throws -> KilnBinary.Result {
        try requireSuccess(run(executable, arguments, stdin: stdin), executable.lastPathComponent, arguments)
    }

    /// ``checked(_:_:stdin:)`` for a command looked up on PATH.
    @discardableResult
    public static func checked(_ command: String, _ arguments: [String], stdin: Data? = nil) throws -> KilnBinary.Result {
        try requireSuccess(run(URL(fileURLWithPath: "/usr/bin/env"), [command] + arguments, stdin: stdin), command, arguments)
    }

    private static func requireSuccess(_ result: KilnBinary.Result, _ command: String, _ arguments: [String]) throws -> KilnBinary.Result {
        guard result.status == 0 else {
            throw ProcessFailure(description: "\(command) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result
    }
}

/// A process that exited non-zero where the test needed it to succeed.
public struct ProcessFailure: Error, CustomStringConvertible {
    /// `command args… exited N: stderr`.
    public let description: String
}
