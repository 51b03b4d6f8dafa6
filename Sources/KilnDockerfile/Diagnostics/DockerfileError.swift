/// A user-facing problem in a Dockerfile, always tied to a place in the file.
///
/// Rendered by ``rendered(fileName:)`` as
/// ```
/// Dockerfile:7:1: error: unknown instruction: RUUN (did you mean RUN?)
///  7 | RUUN echo hi
///    | ^
/// ```
public struct DockerfileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, without location (e.g. `unknown instruction: RUUN`).
    public var message: String
    /// Where it went wrong. `nil` only for whole-file problems (an empty file).
    public var location: SourceLocation?
    /// The physical source line at `location`, without its line ending.
    public var sourceLine: String?
    /// A correction to offer (`RUN`, `--chown`), shown as `(did you mean X?)`.
    public var suggestion: String?

    /// Creates an error.
    public init(_ message: String, at location: SourceLocation? = nil, sourceLine: String? = nil, suggestion: String? = nil) {
        self.message = message
        self.location = location
        self.sourceLine = sourceLine
        self.suggestion = suggestion
    }

    /// The one-line summary: `message (did you mean X?)`.
    public var summary: String {
        if let suggestion { return "\(message) (did you mean \(suggestion)?)" }
        return message
    }

    public var description: String { rendered(fileName: "Dockerfile") }

    /// The full diagnostic: `file:line:column: error: summary`, the source line and a caret under the column.
    public func rendered(fileName: String) -> String {
        guard let location else { return "\(fileName): error: \(summary)" }
        var out = "\(fileName):\(location.line):\(location.column): error: \(summary)"
        if let sourceLine {
            let gutter = String(location.line)
            let pad = String(repeating: " ", count: gutter.count)
            // Tabs are kept in the caret line so the caret lines up under tabbed source.
            let prefix = sourceLine.unicodeScalars.prefix(max(0, location.column - 1))
                .map { $0 == "\t" ? "\t" : " " }.joined()
            out += "\n \(gutter) | \(sourceLine)\n \(pad) | \(prefix)^"
        }
        return out
    }
}

/// A non-fatal finding (for example an empty continuation line), tied to a place in the file.
public struct DockerfileWarning: Sendable, Hashable, CustomStringConvertible {
    /// What was noticed.
    public var message: String
    /// Where.
    public var location: SourceLocation?

    /// Creates a warning.
    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): warning: \(message)" }
        return "warning: \(message)"
    }
}
