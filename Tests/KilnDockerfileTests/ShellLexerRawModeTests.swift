import Foundation
import Testing
import KilnDockerfile
import KilnTestSupport

/// The raw modes the parser's heredoc detection relies on, and behaviour the vectors do not pin.
@Suite struct ShellLexerRawModeTests {
    /// How BuildKit's `heredocsFromLine` lexes a logical line.
    static var lineLexer: ShellLexer {
        var lexer = ShellLexer(escapeToken: "\\")
        lexer.rawQuotes = true
        lexer.rawEscapes = true
        lexer.skipUnsetEnv = true
        return lexer
    }

    // MARK: rawQuotes + rawEscapes

    @Test func rawModesKeepQuotesAndEscapes() throws {
        let lexer = Self.lineLexer
        #expect(try lexer.processWords(#"echo "a b" 'c d' e\ f"#, environment: [:]) == ["echo", #""a b""#, "'c d'", #"e\ f"#])
        #expect(try lexer.processWords(#"RUN '<<EOF'"#, environment: [:]) == ["RUN", "'<<EOF'"])
        #expect(try lexer.processWords(#"RUN "<<EOF""#, environment: [:]) == ["RUN", #""<<EOF""#])
        #expect(try lexer.processWord(#""a\"b" c\"#, environment: [:]) == #""a\"b" c\"#)
        #expect(try lexer.processWord(#"'a\b'"#, environment: [:]) == #"'a\b'"#)
    }

    @Test func rawEscapesDoubleAnUnescapableEscapeInsideDoubleQuotes() throws {
        // Upstream writes the escape token once for RawEscapes and once more as the literal it is.
        var lexer = ShellLexer()
        lexer.rawEscapes = true
        #expect(try lexer.processWord(#""a\b""#, environment: [:]) == #"a\\b"#)
        lexer.rawEscapes = false
        #expect(try lexer.processWord(#""a\b""#, environment: [:]) == #"a\b"#)
    }

    @Test func defaultWordsResolveEscapesEvenInRawMode() throws {
        var lexer = ShellLexer()
        lexer.rawEscapes = true
        #expect(try lexer.processWord(#"${X:-a\ b}\ c"#, environment: [:]) == #"a b\ c"#)
        // Patterns keep them in every mode, so that `\*` is a literal star.
        #expect(try ShellLexer().processWord(#"${X#\*}"#, environment: ["X": "*a"]) == "a")
    }

    @Test func unterminatedQuotesFailInRawModeToo() {
        #expect(throws: ShellError.self) { try Self.lineLexer.processWords("RUN 'abc", environment: [:]) }
        #expect(throws: ShellError.self) { try Self.lineLexer.processWords(#"RUN "abc"#, environment: [:]) }
    }

    // MARK: skipUnsetEnv

    @Test func skipUnsetEnvLeavesUnsetReferencesAsWritten() throws {
        var lexer = ShellLexer()
        lexer.skipUnsetEnv = true
        let env = ["SET": "v"]
        #expect(try lexer.processWord("$EOF", environment: env) == "$EOF")
        #expect(try lexer.processWord("${EOF}", environment: env) == "${EOF}")
        #expect(try lexer.processWord("$1 $@ ${SET}", environment: env) == "$1 $@ v")
        #expect(try lexer.processWord("${X:-a b}", environment: env) == "${X:-a b}")
        #expect(try lexer.processWord("${SET:-a b}", environment: env) == "v")
        // Rebuilt from the processed word: quotes removed, `//` written as `/`, as upstream.
        #expect(try lexer.processWord(#"${X:-"q"}"#, environment: env) == "${X:-q}")
        #expect(try lexer.processWord("${X//a/b}", environment: env) == "${X/a/b}")
        // An unknown modifier is only an error when the variable is set.
        #expect(try lexer.processWord("${X:YY}", environment: env) == "${X:YY}")
        #expect(throws: ShellError.self) { try lexer.processWord("${SET:YY}", environment: env) }
        // Unset references are still recorded.
        let expansion = try lexer.processWordWithMatches("$A ${SET}", environment: env)
        #expect(expansion.unmatched == ["A"] && expansion.matched == ["SET"])
    }

    /// `ParseHeredoc` lexes the word after `<<` twice (RawQuotes off and on) and compares the quote counts.
    @Test func heredocWordLexedWithAndWithoutRawQuotes() throws {
        var plain = ShellLexer()
        plain.skipUnsetEnv = true
        var raw = plain
        raw.rawQuotes = true
        let cases: [(word: String, name: String, quoted: Bool)] = [
            ("EOF", "EOF", false), ("'EOF'", "EOF", true), (#""EOF""#, "EOF", true), (#"EO"F""#, "EOF", true),
            (#"eo\'f"#, "eo'f", false), (#"'e'o\'f"#, "eo'f", true), ("$EOF", "$EOF", false), ("'one two'", "one two", true),
        ]
        for (word, name, quoted) in cases {
            let words = try plain.processWords(word, environment: [:])
            let rawWords = try raw.processWords(word, environment: [:])
            #expect(words == [name], "\(word)")
            #expect(rawWords.count == 1, "\(word)")
            let quotes = { (s: String) in s.filter { $0 == "'" || $0 == "\"" }.count }
            #expect((quotes(words[0]) != quotes(rawWords.first ?? "")) == quoted, "\(word)")
        }
        #expect(try plain.processWords("one two", environment: [:]).count == 2)
    }

    // MARK: `<<` and word splitting

    @Test func blanksAfterHeredocOperatorStayInTheWord() throws {
        let lexer = Self.lineLexer
        #expect(try lexer.processWords("RUN << EOF", environment: [:]) == ["RUN", "<< EOF"])
        #expect(try lexer.processWords("RUN <<\t\r EOF x", environment: [:]) == ["RUN", "<<\t\r EOF", "x"])
        #expect(try lexer.processWords("RUN <<- EOF", environment: [:]) == ["RUN", "<<-", "EOF"])
        #expect(try lexer.processWords("RUN << -EOF", environment: [:]) == ["RUN", "<< -EOF"])
        #expect(try lexer.processWords("a < b", environment: [:]) == ["a", "<", "b"])
        #expect(try lexer.processWords(#"a \<< b"#, environment: [:]) == ["a", #"\<<"#, "b"])
        // The single string is unaffected.
        #expect(try ShellLexer().processWord("cat << EOF", environment: [:]) == "cat << EOF")
    }

    @Test func expansionWithAWordDropsTheWordBeforeIt() throws {
        // Upstream shares one word buffer between nested scans; see ShellWordScanner.wordBuffer.
        let lexer = ShellLexer()
        #expect(try lexer.processWords("a${X:-b}c d", environment: [:]) == ["bc", "d"])
        #expect(try lexer.processWords("a${X}c d", environment: [:]) == ["ac", "d"])
        #expect(try lexer.processWord("a${X:-b}c d", environment: [:]) == "abc d")
        let all = try lexer.expand("a${X:-b}c d", environment: [:])
        #expect(all.result == "abc d" && all.words == ["bc", "d"] && all.unmatched == ["X"])
    }

    @Test func unquotedExpansionSplitsQuotedDoesNot() throws {
        let env = ["V": " a  b ", "E": ""]
        #expect(try ShellLexer().processWords(#"x$V"y$V"$E"#, environment: env) == ["x", "a", "b", "y a  b "])
        #expect(try ShellLexer().processWords(#"'' "" $E"#, environment: env) == [])
    }

    // MARK: Other escape tokens and modes

    @Test func backtickEscapeToken() throws {
        let lexer = ShellLexer(escapeToken: "`")
        #expect(try lexer.processWord(#"C:\path`$x"#, environment: [:]) == #"C:\path$x"#)
        #expect(try lexer.processWord(#""a``b`"c""#, environment: [:]) == #"a`b"c"#)
        #expect(try lexer.processWords("a` b c", environment: [:]) == ["a b", "c"])
        // Patterns still escape with `\`, whatever the escape token.
        #expect(try lexer.processWord(#"${V#\*}"#, environment: ["V": "*x"]) == "x")
    }

    @Test func skipProcessQuotesTreatsQuotesAsText() throws {
        var lexer = ShellLexer()
        lexer.skipProcessQuotes = true
        #expect(try lexer.processWord(#"echo '$HOME' "$HOME""#, environment: ["HOME": "/root"]) == #"echo '/root' "/root""#)
    }

    // MARK: Patterns beyond the vectors

    @Test func patternOperators() throws {
        let lexer = ShellLexer()
        let env = ["P": "/usr/local/bin/tool.tar.gz", "N": "a\nb", "S": "foo bar foo"]
        func x(_ word: String) throws -> String { try lexer.processWord(word, environment: env) }
        #expect(try x("${P##*/}") == "tool.tar.gz")
        #expect(try x("${P#*/}") == "usr/local/bin/tool.tar.gz")
        #expect(try x("${P%/*}") == "/usr/local/bin")
        #expect(try x("${P%%.*}") == "/usr/local/bin/tool")
        #expect(try x("${P%.*}") == "/usr/local/bin/tool.tar")
        #expect(try x("${P#/usr?}") == "local/bin/tool.tar.gz")
        #expect(try x("${P#[/]usr}") == "/usr/local/bin/tool.tar.gz")  // no bracket expressions
        // Wildcards do not cross newlines (they are Go's `.`).
        #expect(try x("${N#*b}") == "a\nb")
        #expect(try x("${N#a?}") == "a\nb")
        #expect(try x("${S/foo/x}") == "x bar foo")
        #expect(try x("${S//foo/x}") == "x bar x")
        #expect(try x("${S//o*/x}") == "fx")
        #expect(try x("${S//*/x}") == "x")
        // The replace-all replacement is a Go template: `$0` is the match, `$$` a dollar.
        #expect(try x("${S//o/'<$0$$>'}") == "f<o$><o$> bar f<o$><o$>")
        #expect(try x("${S/o/'<$0>'}") == "f<$0>o bar foo")
        #expect(throws: ShellError.self) { try x(#"${S#\a}"#) }
    }

    @Test func pathologicalInputsStayCheap() throws {
        // Nesting deeper than the scanner allows is an error, not a stack overflow.
        let depth = 10_000
        let deep = String(repeating: "\"${a:-", count: depth) + "x" + String(repeating: "}\"", count: depth)
        #expect(throws: ShellError.self) { try ShellLexer().processWords(deep, environment: [:]) }
        let fine = String(repeating: "${a:-", count: 30) + "x" + String(repeating: "}", count: 30)
        #expect(try ShellLexer().processWord(fine, environment: [:]) == "x")
        // A backtracking worst case (`(a*)*b`-like) answers at once.
        let subject = String(repeating: "a", count: 2_000)
        let stars = String(repeating: "*a", count: 200) + "*b"
        #expect(try ShellLexer().processWord("${V#\(stars)}", environment: ["V": subject]) == subject)
        #expect(try ShellLexer().processWord("${V//\(stars)/x}", environment: ["V": subject]) == subject)
    }

    @Test func errorsReadLikeBuildKit() {
        #expect { try ShellLexer().processWord("${X:?must be set}", environment: [:]) } throws: { error in
            (error as? ShellError)?.message == #"failed to process "${X:?must be set}": X: must be set"#
        }
        #expect { try ShellLexer().processWord("a${b:-c", environment: [:]) } throws: { error in
            (error as? ShellError)?.message == #"failed to process "a${b:-c": syntax error: missing '}'"#
        }
        // Go's `%q` in the message.
        #expect { try ShellLexer().processWord("\t${}", environment: [:]) } throws: { error in
            (error as? ShellError)?.message == #"failed to process "\t${}": syntax error: bad substitution"#
        }
    }

    // MARK: The parser's heredoc vectors, through the lexer

    @Test func heredocWordVectors() throws {
        let group = try ShellVectors.json("dockerfile-parser/unit-vectors.json")["heredocWord"] as? [String: Any] ?? [:]
        let valid = group["valid"] as? [String] ?? []
        let invalid = group["invalid"] as? [String] ?? []
        let notHeredoc = group["notHeredoc"] as? [String] ?? []
        #expect(valid.count + invalid.count + notHeredoc.count == 20)
        for word in valid { #expect((try? HeredocProbe.parse(word)) == "EOF", "\(word)") }
        for word in invalid { #expect(throws: ShellError.self, "\(word)") { try HeredocProbe.parse(word) } }
        for word in notHeredoc { #expect((try? HeredocProbe.parse(word)) == .some(nil), "\(word)") }
    }

    @Test func heredocsFromLineVectors() throws {
        let group = try ShellVectors.json("dockerfile-parser/unit-vectors.json")["heredocsFromLine"] as? [String: Any] ?? [:]
        let cases = group["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 10)
        for row in cases {
            let line = row["line"] as? String ?? ""
            let expected = row["heredocNames"] as? [String] ?? []
            #expect(try HeredocProbe.namesInLine(line) == expected, "\(line)")
        }
    }
}

/// A minimal stand-in for the parser's heredoc detection (BuildKit's `ParseHeredoc` and
/// `heredocsFromLine`), to check that the lexer gives it what it needs.
enum HeredocProbe {
    /// The heredoc name in `word`, nil if `word` is not `N<<[-]name`.
    static func parse(_ word: String) throws -> String? {
        // ^(\d*)<<(-?)\s*([^<]*)$  (Go's \s is [\t\n\f\r ])
        var rest = Substring(word).drop(while: { $0.isASCII && $0.isNumber })
        guard rest.hasPrefix("<<") else { return nil }
        rest = rest.dropFirst(2)
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        rest = rest.drop(while: { "\t\n\u{0C}\r ".contains($0) })
        guard !rest.contains("<"), !rest.isEmpty else { return nil }

        var lexer = ShellLexer()
        lexer.skipUnsetEnv = true
        let words = try lexer.processWords(String(rest), environment: [:])
        guard words.count == 1 else { return nil }
        lexer.rawQuotes = true
        let rawWords = try lexer.processWords(String(rest), environment: [:])
        guard rawWords.count == 1 else { throw ShellError("internal lexing of heredoc produced inconsistent results: \(rest)") }
        return words[0]
    }

    static func namesInLine(_ line: String) throws -> [String] {
        let words = (try? ShellLexerRawModeTests.lineLexer.processWords(line, environment: [:])) ?? []
        return try words.compactMap { try parse($0) }
    }
}
