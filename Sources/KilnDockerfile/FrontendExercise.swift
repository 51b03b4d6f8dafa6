import Foundation

/// Runs one input through every stage of the frontend and discards the results.
///
/// Used by the libFuzzer target (`fuzz/ParserFuzzTarget.swift`) and by the seeded mutation
/// test in the test suite, so both exercise the same paths: what matters is that no input
/// crashes, hangs or grows memory without bound, not what any stage answers.
enum FrontendExercise {
    /// Parses, dumps, types, plans and encodes `bytes`; lexes and ignore-matches its text.
    static func run(_ bytes: [UInt8]) {
        if let parsed = try? DockerfileParser.parse(bytes) {
            _ = parsed.dump
            if let dockerfile = try? Dockerfile(parsed: parsed) {
                _ = try? JSONEncoder().encode(dockerfile)
                _ = try? dockerfile.plan(BuildOptions(buildArgs: ["A": "1", "HTTP_PROXY": "http://proxy"]))
                if let first = dockerfile.stages.first?.name {
                    _ = try? dockerfile.plan(BuildOptions(target: first))
                }
            }
        }
        _ = DockerfileParser.detectSyntax(bytes)

        // The lexer and the ignore matcher see the raw text too, line by line as users write them.
        let text = String(decoding: bytes, as: UTF8.self)
        let environment = ["PWD": "/home", "EMPTY": "", "A": "a b  c"]
        var lexer = ShellLexer()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(64) {
            let word = String(line.prefix(4096))
            _ = try? lexer.processWord(word, environment: environment)
            _ = try? lexer.processWords(word, environment: environment)
        }
        lexer.rawQuotes = true
        lexer.rawEscapes = true
        lexer.skipUnsetEnv = true
        _ = try? lexer.processWords(String(text.prefix(4096)), environment: [:])

        let patterns = DockerIgnoreFile.patterns(in: text)
        if let matcher = try? PatternMatcher(Array(patterns.prefix(64))) {
            for path in ["a", "a/b/c.txt", "node_modules/x", ".git/HEAD", "src/main.swift", "Dockerfile"] {
                _ = try? matcher.matchesOrParentMatches(path)
            }
        }
    }
}
