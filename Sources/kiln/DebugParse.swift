import ArgumentParser
import Foundation
import KilnDockerfile

/// `kiln debug parse`: shows a Dockerfile as Kiln's frontend sees it.
struct DebugParse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse a Dockerfile and print its AST or its typed stages.",
        discussion: """
            --format buildkit prints the parser's AST in BuildKit's dump format, one \
            `(instruction ["flags"] "arg" …)` line per instruction; only parse errors fail. \
            --format json runs the whole frontend (typed instructions, flags, stages) and \
            prints the result as JSON; any Dockerfile error fails. Errors go to standard \
            error as file:line:column with the line and a caret, and the exit status is 1.
            """
    )

    /// What to print.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case buildkit
        case json
    }

    @Option(name: .shortAndLong, help: "The Dockerfile to read ('-' for standard input).")
    var file: String = "Dockerfile"

    @Option(help: "Output format: buildkit (the AST dump) or json (typed stages and instructions).")
    var format: Format = .buildkit

    func run() throws {
        let source = try DockerfileSource.read(file)
        do {
            switch format {
            case .buildkit:
                let parsed = try DockerfileParser.parse(source.bytes)
                report(parsed.warnings, fileName: source.displayName)
                FileHandle.standardOutput.write(Data(parsed.dump.utf8))
            case .json:
                let output = try DebugParseJSON.render(source.bytes, fileName: source.displayName)
                report(output.warnings, fileName: source.displayName)
                FileHandle.standardOutput.write(output.json)
                FileHandle.standardOutput.write(Data("\n".utf8))
            }
        } catch let error as DockerfileError {
            StandardError.write(TerminalText.escaped(error.rendered(fileName: source.displayName)) + "\n")
            throw ExitCode(1)
        }
    }

    private func report(_ warnings: [DockerfileWarning], fileName: String) {
        for warning in warnings {
            let place = warning.location.map { "\(fileName):\($0.line):\($0.column)" } ?? fileName
            StandardError.write(TerminalText.escaped("\(place): warning: \(warning.message)") + "\n")
        }
    }
}

/// The bytes of a Dockerfile and the name to use for it in diagnostics.
struct DockerfileSource {
    /// The file's exact bytes.
    var bytes: [UInt8]
    /// How diagnostics name the file (`Dockerfile`, `path/to/Dockerfile`, `<stdin>`).
    var displayName: String

    /// Reads `path`, or standard input for `-`; a missing file is a clear error, not a crash.
    static func read(_ path: String) throws -> DockerfileSource {
        if path == "-" {
            return DockerfileSource(bytes: [UInt8](FileHandle.standardInput.readDataToEndOfFile()), displayName: "<stdin>")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read Dockerfile \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")")
        }
        return DockerfileSource(bytes: [UInt8](data), displayName: path)
    }
}
