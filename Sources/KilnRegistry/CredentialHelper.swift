import Foundation

/// A Docker credential helper, `docker-credential-<name>`, speaking its `get` protocol: the
/// server URL on stdin, `{"ServerURL", "Username", "Secret"}` on stdout.
struct CredentialHelper: Sendable {
    /// The helper's suffix (`pass`, `ecr-login`, `desktop`).
    var name: String
    /// Directories to look for the executable in.
    var searchPath: [String]

    /// The executable's full name.
    var executableName: String { "docker-credential-\(name)" }

    /// The credential the helper holds for `serverURL`, or nil when it has none.
    func get(serverURL: String) async throws -> RegistryCredential? {
        guard let executable = searchPath.lazy.map({ URL(fileURLWithPath: $0).appendingPathComponent(executableName) })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
        else { throw DockerConfigError.helperNotFound(name) }
        let (status, output, errorOutput) = try await Self.run(executable, arguments: ["get"], input: Data(serverURL.utf8))
        guard status == 0 else {
            // Helpers report a missing entry as a failure whose message docker treats as "anonymous".
            let message = (String(data: output + errorOutput, encoding: .utf8) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if message.localizedCaseInsensitiveContains("credentials not found") { return nil }
            throw DockerConfigError.helperFailed(helper: executableName, status: status, message: message)
        }
        struct Reply: Decodable {
            var Username: String?
            var Secret: String?
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: output), let secret = reply.Secret
        else { throw DockerConfigError.helperOutputMalformed(helper: executableName) }
        // Docker's convention: the user name "<token>" marks the secret as an identity token.
        if reply.Username == "<token>" { return RegistryCredential(identityToken: secret) }
        return RegistryCredential(username: reply.Username ?? "", password: secret)
    }

    /// Runs the helper to completion off the cooperative pool; helpers are short-lived and
    /// small-output. Stderr goes to a file so that neither pipe can fill up and stall the helper.
    private static func run(_ executable: URL, arguments: [String], input: Data) async throws -> (Int32, Data, Data) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let errorFile = FileManager.default.temporaryDirectory
                    .appendingPathComponent("kiln-credential-helper-\(UUID().uuidString).err")
                defer { try? FileManager.default.removeItem(at: errorFile) }
                do {
                    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
                    let errorHandle = try FileHandle(forWritingTo: errorFile)
                    defer { try? errorHandle.close() }
                    let process = Process()
                    process.executableURL = executable
                    process.arguments = arguments
                    let stdin = Pipe(), stdout = Pipe()
                    process.standardInput = stdin
                    process.standardOutput = stdout
                    process.standardError = errorHandle
                    try process.run()
                    stdin.fileHandleForWriting.write(input)
                    try? stdin.fileHandleForWriting.close()
                    let output = stdout.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    let errorOutput = (try? Data(contentsOf: errorFile)) ?? Data()
                    continuation.resume(returning: (process.terminationStatus, output, errorOutput))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
