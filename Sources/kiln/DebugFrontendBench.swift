import ArgumentParser
import Dispatch
import Foundation
import KilnDockerfile

/// `kiln debug frontend-bench`: times the frontend over many Dockerfiles in one process,
/// so bench/parse.sh measures parsing and typing rather than process start-up.
struct DebugFrontendBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontend-bench",
        abstract: "Parse and type Dockerfiles repeatedly and print Dockerfiles per second.",
        shouldDisplay: false
    )

    @Option(help: "How many times to go over all the files.")
    var iterations: Int = 10

    @Flag(help: "Parse only (no typed instructions).")
    var parseOnly = false

    @Argument(help: "Dockerfiles to read.")
    var files: [String]

    func run() throws {
        let inputs = try files.map { try DockerfileSource.read($0).bytes }
        var failures = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<max(1, iterations) {
            for bytes in inputs {
                do {
                    let parsed = try DockerfileParser.parse(bytes)
                    if !parseOnly { _ = try Dockerfile(parsed: parsed) }
                } catch {
                    failures += 1
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let count = inputs.count * max(1, iterations)
        TerminalText.print("files=\(inputs.count) iterations=\(max(1, iterations)) failures=\(failures) seconds=\(String(format: "%.4f", seconds)) per_second=\(Int(Double(count) / seconds))")
    }
}
