import Foundation
import KilnTestSupport
import Testing
@testable import KilnDockerfile

/// A named input with its expectation, for the unit-level vectors.
struct VectorCase<Expected: Sendable>: Sendable, CustomStringConvertible {
    var name: String
    var input: String
    var expected: Expected
    var description: String { name }
}

/// `dockerfile-parser/unit-vectors.json` and `directives.json`: the building blocks on their own.
@Suite struct ParserUnitVectorTests {
    static var vectors: [String: Any] { ParserFixtures.json("dockerfile-parser/unit-vectors.json") }
    static var directives: [String: Any] { ParserFixtures.json("dockerfile-parser/directives.json") }

    static func group(_ name: String) -> [String: Any] { vectors[name] as? [String: Any] ?? [:] }

    static func jsonValid() -> [VectorCase<[String]>] {
        (group("jsonArrays")["valid"] as? [[String: Any]] ?? []).map {
            VectorCase(name: "jsonArrays.valid \(GoText.quoted($0["input"] as? String ?? ""))",
                       input: $0["input"] as? String ?? "", expected: $0["expected"] as? [String] ?? [])
        }
    }

    static func jsonNotStrings() -> [VectorCase<Bool>] {
        (group("jsonArrays")["invalidNotStringArray"] as? [String] ?? []).map {
            VectorCase(name: "jsonArrays.invalidNotStringArray \($0)", input: $0, expected: true)
        }
    }

    static func parseWords() -> [VectorCase<[String]>] {
        (group("parseWords")["cases"] as? [[String: Any]] ?? []).map {
            VectorCase(name: "parseWords \(GoText.quoted($0["input"] as? String ?? ""))",
                       input: $0["input"] as? String ?? "", expected: $0["expected"] as? [String] ?? [])
        }
    }

    /// Expected: "valid", "invalid" or "notHeredoc".
    static func heredocWords() -> [VectorCase<String>] {
        let group = group("heredocWord")
        return ["valid", "invalid", "notHeredoc"].flatMap { kind in
            (group[kind] as? [String] ?? []).map {
                VectorCase(name: "heredocWord.\(kind) \(GoText.quoted($0))", input: $0, expected: kind)
            }
        }
    }

    static func heredocLines() -> [VectorCase<[String]>] {
        (group("heredocsFromLine")["cases"] as? [[String: Any]] ?? []).map {
            VectorCase(name: "heredocsFromLine \(GoText.quoted($0["line"] as? String ?? ""))",
                       input: $0["line"] as? String ?? "", expected: $0["heredocNames"] as? [String] ?? [])
        }
    }

    @Test(arguments: jsonValid())
    func jsonArray(_ vector: VectorCase<[String]>) {
        let bytes = Array(vector.input.utf8)
        let outcome = JSONText.stringArray(bytes, in: GoText.skipSpace(bytes, from: 0, to: bytes.count)..<bytes.count)
        guard case .strings(let elements) = outcome else {
            Issue.record("not decoded: \(outcome)")
            return
        }
        #expect(elements.map { String(decoding: $0.bytes, as: UTF8.self) } == vector.expected)
        // Through the parser: a JSON CMD is exec form with exactly these arguments.
        let node = try? DockerfileParser.parse("CMD \(vector.input)").nodes.first
        #expect(node?.isExecForm == true)
        #expect(node?.arguments == vector.expected)
    }

    @Test(arguments: jsonNotStrings())
    func jsonArrayWithNonString(_ vector: VectorCase<Bool>) {
        let bytes = Array(vector.input.utf8)
        #expect(JSONText.stringArray(bytes, in: 0..<bytes.count) == .notAllStrings)
        #expect(throws: DockerfileError.self) { try DockerfileParser.parse("CMD \(vector.input)") }
    }

    @Test(arguments: parseWords())
    func wordSplitting(_ vector: VectorCase<[String]>) {
        let bytes = Array(vector.input.utf8)
        let words = WordSplitting.words(bytes, 0..<bytes.count, escapeToken: UInt8(ascii: "\\"))
        #expect(words.map { String(decoding: $0.bytes, as: UTF8.self) } == vector.expected)
    }

    @Test(arguments: heredocWords())
    func heredocWord(_ vector: VectorCase<String>) {
        switch vector.expected {
        case "valid":
            #expect((try? HeredocDetection.heredoc(fromWord: vector.input))??.name == "EOF")
        case "invalid":
            #expect(throws: ShellError.self) { try HeredocDetection.heredoc(fromWord: vector.input) }
        default:
            #expect((try? HeredocDetection.heredoc(fromWord: vector.input)) == .some(nil))
        }
    }

    @Test(arguments: heredocLines())
    func heredocsFromLine(_ vector: VectorCase<[String]>) throws {
        #expect(try HeredocDetection.heredocs(inLine: vector.input).map(\.name) == vector.expected)
    }

    // MARK: directives.json

    static func directiveInput(_ entry: [String: Any]) -> [UInt8] {
        if let hex = entry["inputHex"] as? String {
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
                bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            return bytes
        }
        return Array((entry["input"] as? String ?? "").utf8)
    }

    struct DirectiveCase: Sendable, CustomStringConvertible {
        var group: String
        var key: String
        var input: [UInt8]
        var found: Bool
        var value: String?
        var commandLine: String?
        var line: Int?
        var all: [[String]]
        var description: String { "\(group) \(GoText.quoted(String(decoding: input, as: UTF8.self)))" }
    }

    static func directiveCases() -> [DirectiveCase] {
        var cases: [DirectiveCase] = []
        for group in ["parseAll", "detectSyntax", "parseDirective"] {
            for entry in directives[group] as? [[String: Any]] ?? [] {
                let all = (entry["expected"] as? [[String: String]] ?? []).map { [$0["name"] ?? "", $0["value"] ?? ""] }
                cases.append(DirectiveCase(group: group, key: entry["key"] as? String ?? "syntax", input: directiveInput(entry),
                                           found: entry["found"] as? Bool ?? true, value: entry["value"] as? String,
                                           commandLine: entry["cmdline"] as? String, line: entry["line"] as? Int, all: all))
            }
        }
        return cases
    }

    @Test(arguments: directiveCases())
    func directive(_ vector: DirectiveCase) {
        switch vector.group {
        case "parseAll":
            var scanner = DirectiveScanner()
            let found = scanner.scanAll(vector.input[...]) ?? []
            #expect(found.map { [$0.name, $0.value] } == vector.all)
        default:
            let detected = vector.group == "detectSyntax"
                ? DockerfileParser.detectSyntax(vector.input)
                : DockerfileParser.parseDirective(vector.key, in: vector.input)
            #expect((detected != nil) == vector.found)
            if vector.found {
                if let value = vector.value { #expect(detected?.value == value) }
                if let commandLine = vector.commandLine { #expect(detected?.commandLine == commandLine) }
                if let line = vector.line { #expect(detected?.line == line) }
            }
        }
    }
}
