import Foundation
import Testing
import KilnDockerfile
import KilnTestSupport

/// BuildKit's shell-lexer vectors (`../shared/conformance/shell-lexer`), one test case per vector.
/// File formats and reading rules: that folder's README.md.
@Suite struct ShellLexerConformanceTests {
    // MARK: envVarTest

    @Test(arguments: try ShellVectors.envVarCases())
    func envVarTest(_ vector: ShellVectors.EnvVarCase) {
        let lexer = ShellLexer(escapeToken: "\\")
        let outcome = Result { () throws(ShellError) in try lexer.processWord(vector.input, environment: ShellVectors.envVarEnvironment) }
        switch (vector.expected, outcome) {
        case (nil, .failure):
            break
        case (nil, .success(let got)):
            Issue.record("line \(vector.line): \(vector.input) expands to \(got.debugDescription), expected an error")
        case (let expected?, .success(let got)):
            #expect(got == expected, "line \(vector.line): \(vector.input)")
        case (_?, .failure(let error)):
            Issue.record("line \(vector.line): \(vector.input) fails: \(error)")
        }
    }

    @Test func envVarTestCount() throws {
        let cases = try ShellVectors.envVarCases()
        #expect(cases.count == 228)
        #expect(cases.filter { $0.expected == nil }.count == 36)
    }

    // MARK: wordsTest

    @Test(arguments: try ShellVectors.wordsCases())
    func wordsTest(_ vector: ShellVectors.WordsCase) {
        let lexer = ShellLexer(escapeToken: "\\")
        let words: [String]
        do {
            words = try lexer.processWords(vector.input, environment: ShellLexer.environment(fromList: vector.envList))
        } catch {
            words = ["error"]
        }
        #expect(words == vector.expected, "line \(vector.line): \(vector.input)")
    }

    /// Upstream's second pass (RawQuotes + SkipUnsetEnv) reads nothing, so the vectors only hold
    /// for the default mode; the README notes that 13 of the 24 cases differ in the other one.
    @Test func wordsTestDiffersInRawQuotesMode() throws {
        var lexer = ShellLexer(escapeToken: "\\")
        lexer.rawQuotes = true
        lexer.skipUnsetEnv = true
        let differing = try ShellVectors.wordsCases().filter { vector in
            let words = (try? lexer.processWords(vector.input, environment: ShellLexer.environment(fromList: vector.envList))) ?? ["error"]
            return words != vector.expected
        }
        #expect(differing.count == 13, "\(differing.map(\.line))")
    }

    @Test func wordsTestCount() throws {
        #expect(try ShellVectors.wordsCases().count == 24)
    }

    /// The `.json` files are conveniences; they must agree with what the harness reads from the text files.
    @Test func jsonMirrorsAgreeWithTextFiles() throws {
        let envJSON = try ShellVectors.json("shell-lexer/envVarTest.json")
        let envRows = (envJSON["cases"] as? [[String: Any]] ?? []).filter { ($0["platform"] as? String) != "W" }
        let envText = try ShellVectors.envVarCases()
        #expect(envRows.count == envText.count)
        for (row, vector) in zip(envRows, envText) {
            #expect(row["line"] as? Int == vector.line)
            #expect(row["input"] as? String == vector.input)
            let expected = (row["expectError"] as? Bool == true) ? nil : row["expected"] as? String
            #expect(expected == vector.expected, "line \(vector.line)")
        }

        let wordsJSON = try ShellVectors.json("shell-lexer/wordsTest.json")
        let wordRows = wordsJSON["cases"] as? [[String: Any]] ?? []
        let wordsText = try ShellVectors.wordsCases()
        #expect(wordRows.count == wordsText.count)
        for (row, vector) in zip(wordRows, wordsText) {
            #expect(row["line"] as? Int == vector.line)
            #expect(row["input"] as? String == vector.input)
            #expect(row["envList"] as? [String] == vector.envList, "line \(vector.line)")
            let expected = (row["expectError"] as? Bool == true) ? ["error"] : row["expectedWords"] as? [String]
            #expect(expected == vector.expected, "line \(vector.line)")
        }
    }

    // MARK: processword-cases.json

    @Test(arguments: try ShellVectors.matchCases())
    func processWordWithMatches(_ vector: ShellVectors.MatchCase) {
        let lexer = ShellLexer(escapeToken: "\\")
        do {
            let expansion = try lexer.processWordWithMatches(vector.input, environment: vector.env)
            guard let expected = vector.expected else {
                Issue.record("\(vector.input) expands to \(expansion.result.debugDescription), expected an error")
                return
            }
            #expect(expansion.result == expected, "\(vector.input)")
            if let matched = vector.matched { #expect(expansion.matched == matched, "matched of \(vector.input)") }
            if let unmatched = vector.unmatched { #expect(expansion.unmatched == unmatched, "unmatched of \(vector.input)") }
            // The plain entry point gives the same string.
            #expect((try? lexer.processWord(vector.input, environment: vector.env)) == expected)
        } catch {
            #expect(vector.expected == nil, "\(vector.input) fails: \(error)")
            if let needle = vector.errorContains {
                #expect(error.message.contains(needle), "\(error.message) should contain \(needle)")
            }
        }
    }

    @Test func processWordCaseCounts() throws {
        let cases = try ShellVectors.matchCases()
        #expect(cases.filter { $0.group == "processWordWithMatches" }.count == 47)
        #expect(cases.filter { $0.group == "mandatoryEnvVars" }.count == 6)
        #expect(cases.filter { $0.group == "platformReleaseName" }.count == 3)
    }

    @Test(arguments: try ShellVectors.envLookupCases())
    func envLookup(_ vector: ShellVectors.EnvLookupCase) {
        let env = ShellLexer.environment(fromList: vector.envList)
        #expect((env[vector.key] ?? "") == vector.expected)
        // And as the lexer sees it.
        let expanded = try? ShellLexer().processWord("${\(vector.key)}", environment: env)
        #expect(expanded == vector.expected)
    }
}

/// Reading the vector files exactly as upstream's tests do.
enum ShellVectors {
    /// The fixed environment of `envVarTest`.
    static let envVarEnvironment = ["PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""]

    struct EnvVarCase: Sendable, CustomTestStringConvertible {
        var line: Int
        var input: String
        /// nil: must fail.
        var expected: String?
        var testDescription: String { "line \(line): \(input)" }
    }

    struct WordsCase: Sendable, CustomTestStringConvertible {
        var line: Int
        var input: String
        var envList: [String]
        var expected: [String]
        var testDescription: String { "line \(line): \(input)" }
    }

    struct MatchCase: Sendable, CustomTestStringConvertible {
        var group: String
        var index: Int
        var input: String
        var env: [String: String]
        /// nil: must fail.
        var expected: String?
        var matched: Set<String>?
        var unmatched: Set<String>?
        var errorContains: String?
        var testDescription: String { "\(group)[\(index)]: \(input)" }
    }

    struct EnvLookupCase: Sendable, CustomTestStringConvertible {
        var envList: [String]
        var key: String
        var expected: String
        var testDescription: String { "\(envList) [\(key)]" }
    }

    /// Lines as Go's `bufio.Scanner` yields them: split on `\n`, a trailing `\r` dropped, no
    /// empty line after a final newline. Numbered from 1.
    static func lines(_ relativePath: String) throws -> [(number: Int, text: String)] {
        let text = String(decoding: try Conformance.data(relativePath), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { lines.removeLast() }
        return lines.enumerated().map { index, line in
            (index + 1, line.hasSuffix("\r") ? String(line.dropLast()) : line)
        }
    }

    /// Go's `strings.TrimSpace`.
    static func trimSpace<S: StringProtocol>(_ s: S) -> String {
        let scalars = Array(s.unicodeScalars)
        var start = 0, end = scalars.count
        while start < end && scalars[start].properties.isWhitespace { start += 1 }
        while end > start && scalars[end - 1].properties.isWhitespace { end -= 1 }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }

    /// Removes leading U+0020 only (`strings.TrimLeft(s, " ")`).
    static func trimLeadingSpaces<S: StringProtocol>(_ s: S) -> String {
        String(s.drop(while: { $0 == " " }))
    }

    /// `TestShellParser4EnvVars`, Linux: the `A` and `U` lines.
    static func envVarCases() throws -> [EnvVarCase] {
        var cases: [EnvVarCase] = []
        for (number, raw) in try lines("shell-lexer/envVarTest") {
            if raw.hasPrefix("#") { continue }
            let line = trimSpace(raw)
            if line.isEmpty { continue }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
            guard fields.count == 3 else { throw VectorError("envVarTest line \(number): \(fields.count) fields") }
            let platform = trimSpace(fields[0]), input = trimSpace(fields[1]), expected = trimSpace(fields[2])
            guard ["A", "U", "W"].contains(platform) else { throw VectorError("envVarTest line \(number): platform \(platform)") }
            if platform == "W" { continue }
            cases.append(EnvVarCase(line: number, input: input, expected: expected == "error" ? nil : expected))
        }
        return cases
    }

    /// `TestShellParser4Words`, default mode (the only one upstream really runs).
    static func wordsCases() throws -> [WordsCase] {
        var cases: [WordsCase] = []
        var envList: [String] = []
        for (number, line) in try lines("shell-lexer/wordsTest") {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("ENV ") {
                envList.append(trimLeadingSpaces(line.dropFirst(3)))
                continue
            }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
            guard fields.count == 2 else { throw VectorError("wordsTest line \(number): \(fields.count) fields") }
            let expected = trimLeadingSpaces(fields[1]).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cases.append(WordsCase(line: number, input: trimSpace(fields[0]), envList: envList, expected: expected))
        }
        return cases
    }

    static func json(_ relativePath: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Conformance.data(relativePath)) as? [String: Any] else {
            throw VectorError("\(relativePath): not a JSON object")
        }
        return object
    }

    /// The three `ProcessWord` groups of `processword-cases.json`.
    static func matchCases() throws -> [MatchCase] {
        let root = try json("shell-lexer/processword-cases.json")
        var cases: [MatchCase] = []
        func add(_ group: String, _ rows: [[String: Any]]) {
            for (index, row) in rows.enumerated() {
                let failing = row["expectError"] as? Bool == true
                cases.append(MatchCase(
                    group: group, index: index,
                    input: row["input"] as? String ?? "",
                    env: row["env"] as? [String: String] ?? [:],
                    expected: failing ? nil : row["expected"] as? String,
                    matched: (row["matched"] as? [String]).map(Set.init),
                    unmatched: (row["unmatched"] as? [String]).map(Set.init),
                    errorContains: row["errorContains"] as? String))
            }
        }
        add("processWordWithMatches", root["processWordWithMatches"] as? [[String: Any]] ?? [])
        for group in ["mandatoryEnvVars", "platformReleaseName"] {
            add(group, (root[group] as? [String: Any])?["cases"] as? [[String: Any]] ?? [])
        }
        return cases
    }

    static func envLookupCases() throws -> [EnvLookupCase] {
        let root = try json("shell-lexer/processword-cases.json")
        let rows = (root["envLookup"] as? [String: Any])?["cases"] as? [[String: Any]] ?? []
        return rows.map {
            EnvLookupCase(envList: $0["envList"] as? [String] ?? [], key: $0["key"] as? String ?? "",
                          expected: $0["expected"] as? String ?? "")
        }
    }

    struct VectorError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
