import ArgumentParser
import Foundation

/// The `kiln` command: builds OCI images from Dockerfiles without a daemon.
@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Build OCI container images from Dockerfiles, without a daemon.",
        version: KilnVersion.current,
        subcommands: [
            BuildCommand.self, PullCommand.self, PushCommand.self, CopyCommand.self, InspectCommand.self,
            ImportCommand.self, IndexCommand.self, CacheCommand.self, LoginCommand.self, LogoutCommand.self, Debug.self,
        ]
    )

    /// ArgumentParser's entry point, except that an error's message goes through
    /// ``TerminalText`` on its way to standard error: it quotes input (a tag, a path, a line
    /// of a Dockerfile, a registry's answer) that may hold control characters.
    static func main() async {
        do {
            try IsolationEntry.enterIfNeeded()
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let error = error is CocoaError ? CommandFailure(describing: error) : error
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                // Empty for ExitCode: the command reported its failure itself.
                StandardError.write(TerminalText.escaped(message) + "\n")
            }
            Foundation.exit(code.rawValue)
        }
    }
}
