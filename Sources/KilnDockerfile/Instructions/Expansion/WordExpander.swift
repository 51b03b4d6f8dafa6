/// Expands words of one instruction with a fixed set of variables, remembering which
/// variables the instruction referenced (for cache keys).
struct WordExpander {
    /// The lexer (escape token from the directives).
    var lexer: ShellLexer
    /// The variables visible to the instruction.
    var variables: [String: String]
    /// Where errors point.
    var location: SourceLocation
    /// Variable names referenced and set, accumulated over every expanded word.
    private(set) var matched: Set<String> = []

    init(escapeToken: Character, variables: [String: String], location: SourceLocation) {
        self.lexer = ShellLexer(escapeToken: escapeToken)
        self.variables = variables
        self.location = location
    }

    /// Expands one word (quotes removed, whitespace kept).
    mutating func word(_ text: String) throws(DockerfileError) -> String {
        // Nothing to expand or unquote: skip the lexer (also keeps plain words exact).
        if !text.contains(where: { $0 == "$" || $0 == "\"" || $0 == "'" || $0 == lexer.escapeToken }) { return text }
        return try expand(text, with: lexer)
    }

    private mutating func expand(_ text: String, with lexer: ShellLexer) throws(DockerfileError) -> String {
        do throws(ShellError) {
            let expansion = try lexer.processWordWithMatches(text, environment: variables)
            matched.formUnion(expansion.matched)
            return expansion.result
        } catch {
            throw DockerfileError(error.message, at: location)
        }
    }

    /// Expands an optional word.
    mutating func word(_ text: String?) throws(DockerfileError) -> String? {
        guard let text else { return nil }
        return try word(text)
    }

    /// Expands each word.
    mutating func words(_ texts: [String]) throws(DockerfileError) -> [String] {
        var result: [String] = []
        for text in texts { result.append(try word(text)) }
        return result
    }

    /// Expands heredoc content: variables only, quotes kept as written and not quoting.
    mutating func heredoc(_ text: String) throws(DockerfileError) -> String {
        // BuildKit expands heredoc bodies with `\` as escape whatever the directive says, and
        // quotes as plain characters (`'$A'` expands).
        var raw = ShellLexer(escapeToken: "\\")
        raw.skipProcessQuotes = true
        return try expand(text, with: raw)
    }
}
