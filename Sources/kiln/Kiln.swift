import ArgumentParser

/// The `kiln` command: builds OCI images from Dockerfiles without a daemon.
@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Build OCI container images from Dockerfiles, without a daemon.",
        version: KilnVersion.current,
        subcommands: [
            BuildCommand.self, PullCommand.self, PushCommand.self, CopyCommand.self, InspectCommand.self,
            ImportCommand.self, CacheCommand.self, LoginCommand.self, LogoutCommand.self, Debug.self,
        ]
    )
}
