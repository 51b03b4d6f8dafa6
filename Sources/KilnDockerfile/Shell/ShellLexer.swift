/// Shell-word expansion as BuildKit's `frontend/dockerfile/shell` does it:
/// `$V`, `${V}`, `${V:-w}` and friends, quotes and escapes.
///
/// The behaviour follows BuildKit's `lex.go` case for case, including its quirks (they are
/// what Dockerfiles in the wild were written against):
///
/// * `$name`: letters, digits and `_` (Unicode letters and digits count). A name that starts
///   with a digit takes all following digits (`$123`, a positional parameter); one of
///   `@ * # ? - $ ! 0` alone is a special parameter. Neither is ever set by a Dockerfile, but
///   they are looked up like any other name. `$` followed by anything else is a literal `$`.
/// * `${name}`, `${name:-w}` / `${name-w}`, `${name:+w}` / `${name+w}`, `${name:?m}` / `${name?m}`,
///   `${name#p}` / `${name##p}`, `${name%p}` / `${name%%p}`, `${name/p/r}` / `${name//p/r}`.
///   Patterns are globs with `*` and `?` only (`[` is literal, as upstream); `\` escapes `*`, `?`,
///   `\`, `}` and `/`. Wildcards never match a newline (they become Go's `.`).
/// * `'…'` is literal; in `"…"` variables expand and the escape token escapes only `"`, `$` and
///   itself; outside quotes the escape token makes the next character literal.
/// * Word splitting (``processWords(_:environment:)``) keeps the blanks after `<<` in the same
///   word (`<< EOF` is one word, for heredoc detection), and, like upstream, a `${V<op>…}`
///   expansion drops the part of the current word before it (`a${X:-b}c` gives `["bc"]`).
///
/// One deliberate difference: `${…}` nested more than 32 levels deep is an error here (the
/// scanner recurses once per level), where BuildKit has no limit.
///
/// A value is cheap to copy and holds no state between calls, so one lexer may be shared freely.
public struct ShellLexer: Sendable {
    /// The escape token (`\` or `` ` ``).
    public var escapeToken: Character
    /// Keep quote characters in the output instead of removing them (BuildKit's `RawQuotes`).
    public var rawQuotes: Bool = false
    /// Keep escape tokens in the output instead of resolving them (BuildKit's `RawEscapes`).
    ///
    /// Only the top level and patterns honour it: the word of `${V:-w}`, `${V:+w}` and `${V:?w}`
    /// always resolves its escapes, while `#`/`%` patterns and `/` patterns and replacements
    /// always keep them (so the pattern matcher can see `\*`), exactly as upstream.
    public var rawEscapes: Bool = false
    /// Leave `$VAR` text untouched when VAR is unset instead of expanding to "" (BuildKit's `SkipUnsetEnv`).
    ///
    /// `$V` stays `$V`, `${V}` stays `${V}`, and `${V<op>word}` is rebuilt from the operator and
    /// the *processed* word (quotes removed unless ``rawQuotes``), as upstream does.
    public var skipUnsetEnv: Bool = false
    /// Treat `'` and `"` as ordinary characters (BuildKit's `SkipProcessQuotes`, used when
    /// expanding heredoc bodies).
    public var skipProcessQuotes: Bool = false

    /// Creates a lexer.
    public init(escapeToken: Character = "\\") {
        self.escapeToken = escapeToken
    }

    /// Expands `word` to a single string; whitespace is kept as is.
    public func processWord(_ word: String, environment: [String: String]) throws(ShellError) -> String {
        if isLiteral(word) { return word }
        var scanner = ShellWordScanner(lexer: self, source: word, environment: environment,
                                       trackVariables: false, collectWords: false)
        return try scanner.run().result
    }

    /// Expands `word` and splits the result into words (unquoted whitespace separates; empty words dropped).
    ///
    /// Whitespace taken literally from `word` (outside quotes, not escaped) or produced by an
    /// unquoted variable expansion separates words; quoted and escaped whitespace does not.
    public func processWords(_ word: String, environment: [String: String]) throws(ShellError) -> [String] {
        var scanner = ShellWordScanner(lexer: self, source: word, environment: environment,
                                       trackVariables: false, collectWords: true)
        return try scanner.run().words
    }

    /// Expands `word` to a single string and reports which variable names were looked up and found / not found.
    public func processWordWithMatches(_ word: String, environment: [String: String]) throws(ShellError) -> ShellExpansion {
        if isLiteral(word) { return ShellExpansion(result: word) }
        var scanner = ShellWordScanner(lexer: self, source: word, environment: environment,
                                       trackVariables: true, collectWords: false)
        return try scanner.run()
    }

    /// Everything at once: the single string, the split words, and the variables looked up
    /// (BuildKit's `ProcessWordResult`). One pass over `word`.
    public func expand(_ word: String, environment: [String: String]) throws(ShellError) -> ShellExpansion {
        var scanner = ShellWordScanner(lexer: self, source: word, environment: environment,
                                       trackVariables: true, collectWords: true)
        return try scanner.run()
    }

    /// Builds an environment from `KEY=VALUE` strings the way BuildKit does (`EnvsFromSlice`):
    /// the key ends at the first `=`, an entry without `=` maps to "", and a later entry for
    /// the same key wins.
    public static func environment(fromList list: [String]) -> [String: String] {
        var env: [String: String] = [:]
        env.reserveCapacity(list.count)
        for entry in list {
            if let eq = entry.utf8.firstIndex(of: UInt8(ascii: "=")) {
                env[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            } else {
                env[entry] = ""
            }
        }
        return env
    }

    /// True when expansion cannot change `word`: nothing in it that the lexer treats specially.
    private func isLiteral(_ word: String) -> Bool {
        guard let escape = escapeToken.unicodeScalars.first, escape.isASCII else { return false }
        let utf8 = word.utf8
        // A leading U+FEFF is dropped by the scanner (as Go's text/scanner does).
        if utf8.starts(with: [0xEF, 0xBB, 0xBF]) { return false }
        let escapeByte = UInt8(escape.value)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "$"), UInt8(ascii: "'"), UInt8(ascii: "\""), escapeByte: return false
            default: continue
            }
        }
        return true
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
    /// The expansion split into words. Only ``ShellLexer/expand(_:environment:)`` fills it.
    public var words: [String]

    /// Creates an expansion result.
    public init(result: String, matched: Set<String> = [], unmatched: Set<String> = [], words: [String] = []) {
        self.result = result
        self.matched = matched
        self.unmatched = unmatched
        self.words = words
    }
}

/// A malformed word (`${V`, `${V:?msg}` with V unset, a bad substitution, …).
///
/// The message reads like BuildKit's: `failed to process "<word>": <reason>`.
public struct ShellError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
