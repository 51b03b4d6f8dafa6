import ArgumentParser
import Foundation
import KilnDistribution
import KilnRegistry

/// `kiln login`: checks credentials against a registry, then stores them in the Docker config.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Verify credentials against a registry and store them in $DOCKER_CONFIG/config.json (or ~/.docker)."
    )

    @Argument(help: "The registry host, e.g. localhost:5000 or docker.io.")
    var server: String

    @Option(name: [.short, .long], help: "The user name.")
    var username: String

    @Flag(help: "Read the password from standard input (the only way: it never appears in the process list).")
    var passwordStdin = false

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        guard passwordStdin else { throw ArgumentParser.ValidationError("pass the password on standard input with --password-stdin") }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw ArgumentParser.ValidationError("no password on standard input") }
        let host = normalizedRegistryHost(server)
        let credential = RegistryCredential(username: username, password: password)
        var options = try registry.options()
        options.credentialsOverride = credential
        let client = await (try RegistryPool(options: options)).client(for: host)
        do { try await client.ping() } catch {
            throw CommandFailure("login to \(host) failed: \(error)")
        }
        try options.dockerConfigFile.store(credential, for: host)
        TerminalText.print("Login succeeded: \(host) (credentials in \(options.dockerConfigFile.url.path))")
    }
}

/// `kiln logout`: removes a registry's stored credentials from the Docker config.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove a registry's credentials from $DOCKER_CONFIG/config.json (or ~/.docker)."
    )

    @Argument(help: "The registry host.")
    var server: String

    func run() async throws {
        let host = normalizedRegistryHost(server)
        let file = DockerConfigFile.standard()
        guard try file.remove(registry: host) else {
            throw CommandFailure("not logged in to \(host) (no entry in \(file.url.path))")
        }
        TerminalText.print("Removed credentials for \(host)")
    }
}

/// The host as `auths` keys it: no scheme, no trailing slash; Docker Hub's aliases as `docker.io`.
private func normalizedRegistryHost(_ text: String) -> String {
    var host = text
    for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host = String(host.dropFirst(scheme.count)) }
    while host.hasSuffix("/") { host = String(host.dropLast()) }
    if ["index.docker.io", "registry-1.docker.io"].contains(host) { return "docker.io" }
    return host
}
