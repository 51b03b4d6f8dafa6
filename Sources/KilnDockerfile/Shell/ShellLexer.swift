/// Shell-word expansion as BuildKit's `frontend/dockerfile/shell` does it:
/// `$V`, `${V}`, `${V:-w}` and friends, quotes and escapes.
///
/// PLACEHOLDER INTERFACE: the implementation is being written; signatures are stable.
public struct ShellLexer: Sendable {
    /// The escape token (`\` or `` ` ``).
    public var escapeToken: Character
    /// Keep quote characters in the output instead of removing them (BuildKit's `RawQuotes`).
    public var rawQuotes: Bool = false
    /// Keep escape tokens in the output instead of resolving them (BuildKit's `RawEscapes`).
    public var rawEscapes: Bool = false
    /// Leave `$VAR` text untouched when VAR is unset instead of expanding to "" (BuildKit's `SkipUnsetEnv`).
    public var skipUnsetEnv: Bool = false

    /// Creates a lexer.
    public init(escapeToken: Character = "\\") {
        self.escapeToken = escapeToken
    }

    /// Expands `word` to a single string; whitespace is kept as is.
    public func processWord(_ word: String, environment: [String: String]) throws(ShellError) -> String {
        try processWordWithMatches(word, environment: environment).result
    }

    /// Expands `word` and splits the result into words (unquoted whitespace separates; empty words dropped).
    public func processWords(_ word: String, environment: [String: String]) throws(ShellError) -> [String] {
        throw ShellError("not implemented")
    }

    /// Expands `word` to a single string and reports which variable names were looked up and found / not found.
    public func processWordWithMatches(_ word: String, environment: [String: String]) throws(ShellError) -> ShellExpansion {
        throw ShellError("not implemented")
    }
}

/// The outcome of one expansion.
public struct ShellExpansion: Sendable, Hashable {
    /// The expanded string.
    public var result: String
    /// Variable names that were referenced and set.
    public var matched: Set<String>
    /// Variable names that were referenced and unset.
    public var unmatched: Set<String>

    /// Creates an expansion result.
    public init(result: String, matched: Set<String> = [], unmatched: Set<String> = []) {
        self.result = result
        self.matched = matched
        self.unmatched = unmatched
    }
}

/// A malformed word (`${V`, `${V:?msg}` with V unset, a bad substitution, …).
public struct ShellError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
