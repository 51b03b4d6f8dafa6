import ArgumentParser

/// `kiln debug …`: tools for looking inside Kiln's stages.
struct Debug: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the stages of a build (parser output, …).",
        subcommands: [DebugParse.self, DebugFrontendBench.self, DebugSnapshotDiff.self]
    )
}
