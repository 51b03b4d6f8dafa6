/// A position in a Dockerfile: 1-based physical line and 1-based column (in characters).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 1-based physical line number.
    public var line: Int
    /// 1-based column, counted in Unicode scalars of the physical line.
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A range of physical lines, both ends inclusive and 1-based.
public struct LineRange: Sendable, Hashable, Codable {
    /// First physical line.
    public var start: Int
    /// Last physical line consumed (continuations, skipped comments and heredoc terminators included).
    public var end: Int

    /// Creates a line range.
    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }
}
