import Foundation
import KilnTestSupport

/// The cases of `dockerignore/patterns.json`, one value per case, for `@Test(arguments:)`.
enum DockerIgnoreConformance {
    /// A path and the pattern list it is matched against (every group that matches paths).
    struct MatchCase: Sendable, CustomStringConvertible {
        var group: String
        var index: Int
        var patterns: [String]
        var path: String
        var expected: Bool
        /// Building the matcher or matching must fail instead.
        var expectError: Bool
        var description: String { "\(group)[\(index)] \(patterns) \(path.debugDescription)" }
    }

    /// A pattern list to build a matcher from (`patternListConstruction`, `deferredBadPattern`).
    struct ConstructionCase: Sendable, CustomStringConvertible {
        var group: String
        var index: Int
        var patterns: [String]
        var expectError: Bool
        var activePatterns: Int?
        var hasExclusions: Bool?
        /// For `deferredBadPattern`: the path whose evaluation must fail, and how often.
        var failingPath: String?
        var repeatCount: Int
        var description: String { "\(group)[\(index)] \(patterns)" }
    }

    /// How the reference compiles one pattern (`compiledForm`).
    struct CompiledFormCase: Sendable, CustomStringConvertible {
        var index: Int
        var pattern: String
        var matchType: String
        var regexp: String?
        var description: String { "compiledForm[\(index)] \(pattern)" }
    }

    /// `.dockerignore` text and the pattern list read from it.
    struct IgnoreFileCase: Sendable, CustomStringConvertible {
        var group: String
        var index: Int
        var input: String?
        var expected: [String]
        var description: String { "\(group)[\(index)] \((input ?? "nil").debugDescription)" }
    }

    /// The groups whose paths go through the three non-deprecated entry points.
    static let matcherGroups = ["singlePattern", "singlePatternUnixOnly", "multiPattern", "referenceGeneratedMulti"]
    /// The groups that go through the deprecated package-level `Matches`.
    static let legacyGroups = ["filepathMatchCompat", "legacyMatchesFunction"]

    static func matchCases(in groups: [String]) throws -> [MatchCase] {
        try groups.flatMap { group in
            try cases(of: group).enumerated().map { index, raw in
                MatchCase(group: group, index: index, patterns: raw.patterns ?? raw.pattern.map { [$0] } ?? [],
                          path: raw.path ?? "", expected: raw.expected?.flag ?? false,
                          expectError: raw.expectError ?? false)
            }
        }
    }

    static func constructionCases() throws -> [ConstructionCase] {
        try ["patternListConstruction", "deferredBadPattern"].flatMap { group in
            try cases(of: group).enumerated().map { index, raw in
                ConstructionCase(group: group, index: index, patterns: raw.patterns ?? [],
                                 expectError: raw.expectError ?? raw.constructionError ?? false,
                                 activePatterns: raw.activePatterns, hasExclusions: raw.hasExclusions,
                                 failingPath: raw.matchError == true ? raw.path : nil, repeatCount: raw.repeat ?? 0)
            }
        }
    }

    static func compiledFormCases() throws -> [CompiledFormCase] {
        try cases(of: "compiledForm").enumerated().map { index, raw in
            CompiledFormCase(index: index, pattern: raw.pattern ?? "", matchType: raw.matchType ?? "", regexp: raw.regexp)
        }
    }

    static func ignoreFileCases() throws -> [IgnoreFileCase] {
        try ["ignoreFileReadAll", "ignoreFileReadAllGenerated"].flatMap { group in
            try cases(of: group).enumerated().map { index, raw in
                IgnoreFileCase(group: group, index: index, input: raw.input, expected: raw.expected?.list ?? [])
            }
        }
    }

    /// Case counts per group, as the conformance README lists them.
    static func caseCounts() throws -> [String: Int] {
        try file().groups.mapValues { $0.cases.count }
    }

    // MARK: - Decoding

    private struct File: Decodable {
        var groups: [String: Group]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: GroupKey.self)
            var groups: [String: Group] = [:]
            // Every key but the top-level `description` is a group.
            for key in container.allKeys where key.stringValue != "description" {
                groups[key.stringValue] = try container.decode(Group.self, forKey: key)
            }
            self.groups = groups
        }
    }

    private struct GroupKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Group: Decodable {
        var cases: [RawCase]
    }

    /// The union of the fields of every group.
    private struct RawCase: Decodable {
        var pattern: String?
        var patterns: [String]?
        var path: String?
        var expected: Expected?
        var expectError: Bool?
        var constructionError: Bool?
        var matchError: Bool?
        var `repeat`: Int?
        var activePatterns: Int?
        var hasExclusions: Bool?
        var matchType: String?
        var regexp: String?
        var input: String?
    }

    /// `expected` is a verdict in the matching groups and a pattern list in the reader groups.
    private enum Expected: Decodable {
        case flag(Bool)
        case list([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                self = .flag(flag)
            } else {
                self = .list(try container.decode([String].self))
            }
        }

        var flag: Bool? { if case .flag(let value) = self { value } else { nil } }
        var list: [String]? { if case .list(let value) = self { value } else { nil } }
    }

    private struct MissingGroup: Error, CustomStringConvertible {
        var name: String
        var description: String { "patterns.json has no group \(name)" }
    }

    private static func file() throws -> File {
        try JSONDecoder().decode(File.self, from: Conformance.data("dockerignore/patterns.json"))
    }

    private static func cases(of group: String) throws -> [RawCase] {
        guard let found = try file().groups[group] else { throw MissingGroup(name: group) }
        return found.cases
    }
}
