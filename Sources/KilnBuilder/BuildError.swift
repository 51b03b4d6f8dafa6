import KilnDockerfile

/// Why a build stopped. Every case reads as a complete message for the user.
public enum BuildError: Error, Sendable, CustomStringConvertible {
    /// The Dockerfile is wrong: rendered with file:line:column and the line.
    case dockerfile(DockerfileError, fileName: String)
    /// A command-line value is malformed.
    case invalidOption(String)
    /// A named context could not be used.
    case namedContext(String, String)
    /// A base image could not be resolved or fetched.
    case baseImage(String, String)
    /// A RUN step exited non-zero.
    case runFailed(location: String, command: String, exitStatus: Int32, lastLines: [String])
    /// A step failed for a reason other than its command's exit status.
    case stepFailed(location: String, instruction: String, reason: String)
    /// COPY/ADD reached a builder made without file operations.
    case fileOperationsUnavailable(location: String, instruction: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .dockerfile(let error, let fileName):
            return error.rendered(fileName: fileName)
        case .invalidOption(let message):
            return message
        case .namedContext(let name, let reason):
            return "build context \"\(name)\": \(reason)"
        case .baseImage(let reference, let reason):
            return "base image \(reference): \(reason)"
        case .runFailed(let location, let command, let exitStatus, let lastLines):
            var text = "\(location): \(command)\n  failed with exit code \(exitStatus)"
            if !lastLines.isEmpty {
                text += "; last \(lastLines.count) line\(lastLines.count == 1 ? "" : "s") of output:\n"
                text += lastLines.map { "  | " + $0 }.joined(separator: "\n")
            }
            return text
        case .stepFailed(let location, let instruction, let reason):
            return "\(location): \(instruction)\n  \(reason)"
        case .fileOperationsUnavailable(let location, let instruction):
            return "\(location): \(instruction)\n  this build of kiln has no COPY/ADD support (KilnBuilder made without file operations)"
        }
    }
}

extension DockerfileError {
    /// The error with its source line filled in from `lines` when it has a location but no line.
    func showingLine(from lines: [String]) -> DockerfileError {
        var error = self
        if error.sourceLine == nil, let line = location?.line, line >= 1, line <= lines.count {
            error.sourceLine = lines[line - 1]
        }
        return error
    }
}
