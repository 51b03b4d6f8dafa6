import Testing
@testable import KilnDockerfile

/// `dockerignore/patterns.json`, case by case, through the entry points its README names.
@Suite struct DockerIgnoreConformanceTests {
    typealias Cases = DockerIgnoreConformance

    @Test func everyGroupHasTheDocumentedNumberOfCases() throws {
        #expect(try Cases.caseCounts() == [
            "singlePattern": 67, "singlePatternUnixOnly": 1, "multiPattern": 4, "referenceGeneratedMulti": 64,
            "filepathMatchCompat": 54, "legacyMatchesFunction": 11, "patternListConstruction": 6,
            "deferredBadPattern": 1, "compiledForm": 21, "ignoreFileReadAll": 2, "ignoreFileReadAllGenerated": 15,
        ])
    }

    /// The same verdict from the parent check, the incremental form without parent
    /// results, and a walk that feeds each ancestor's results into the next call.
    @Test(arguments: try Cases.matchCases(in: Cases.matcherGroups))
    func matcherEntryPoints(_ testCase: Cases.MatchCase) throws {
        let matcher = try PatternMatcher(testCase.patterns)
        #expect(try matcher.matchesOrParentMatches(testCase.path) == testCase.expected, "MatchesOrParentMatches")
        #expect(try matcher.matchesUsingParentResults(testCase.path).matched == testCase.expected,
                "MatchesUsingParentResults without parent results")

        var parentResults = MatchInfo()
        for ancestor in Self.ancestors(of: testCase.path) {
            parentResults = try matcher.matchesUsingParentResults(ancestor, parentResults: parentResults).results
        }
        #expect(try matcher.matchesUsingParentResults(testCase.path, parentResults: parentResults).matched
                == testCase.expected, "walk with parent results")
    }

    @Test(arguments: try Cases.matchCases(in: Cases.legacyGroups))
    func deprecatedMatchesFunction(_ testCase: Cases.MatchCase) throws {
        if testCase.expectError {
            #expect(throws: PatternError.self) { try PatternMatcher.matches(testCase.path, patterns: testCase.patterns) }
            return
        }
        #expect(try PatternMatcher.matches(testCase.path, patterns: testCase.patterns) == testCase.expected)
        // The README checks that these cases agree with the parent rule on the cleaned path.
        let cleaned = SlashPath.clean(testCase.path)
        let viaParentRule = cleaned == "." ? false : try PatternMatcher(testCase.patterns).matchesOrParentMatches(cleaned)
        #expect(viaParentRule == testCase.expected)
    }

    @Test(arguments: try Cases.constructionCases())
    func buildingAMatcher(_ testCase: Cases.ConstructionCase) throws {
        if testCase.expectError {
            #expect(throws: PatternError.self) { try PatternMatcher(testCase.patterns) }
            return
        }
        let matcher = try PatternMatcher(testCase.patterns)
        if let active = testCase.activePatterns { #expect(matcher.patterns.count == active) }
        if let hasExclusions = testCase.hasExclusions { #expect(matcher.hasExceptions == hasExclusions) }
        if let path = testCase.failingPath {
            #expect(testCase.repeatCount > 0)
            for _ in 0..<testCase.repeatCount {
                #expect(throws: PatternError.badPattern("[Local-Only]")) { try matcher.matchesOrParentMatches(path) }
                #expect(throws: PatternError.self) { try matcher.matchesUsingParentResults(path) }
            }
        }
    }

    /// Informative upstream: checked here because the matcher mirrors the reference's
    /// classification (it changes results: `**file` matches `myfile`), and the token
    /// program of a glob renders back to the reference's regular expression.
    @Test(arguments: try Cases.compiledFormCases())
    func compiledForm(_ testCase: Cases.CompiledFormCase) throws {
        let compiled = try CompiledPattern(testCase.pattern)
        switch compiled {
        case .exact: #expect(testCase.matchType == "exact")
        case .prefix: #expect(testCase.matchType == "prefix")
        case .suffix: #expect(testCase.matchType == "suffix")
        case .glob(let program):
            #expect(testCase.matchType == "regexp")
            #expect(program.referenceRegexp == testCase.regexp)
        case .unmatchable: Issue.record("no compiledForm case is unmatchable")
        }
    }

    @Test(arguments: try Cases.ignoreFileCases())
    func readingIgnoreFiles(_ testCase: Cases.IgnoreFileCase) {
        #expect(DockerIgnoreFile.patterns(in: testCase.input) == testCase.expected)
    }

    /// The ancestors the reference's walk test visits: the prefixes of `filepath.Dir(path)`.
    static func ancestors(of path: String) -> [String] {
        let parent = SlashPath.dir(path)
        if parent == "." { return [] }
        let segments = parent.split(separator: "/", omittingEmptySubsequences: false)
        return (1...segments.count).map { segments[..<$0].joined(separator: "/") }
    }
}

extension GlobProgram {
    /// The Go regular expression the reference compiles the same pattern to (`/` separator).
    var referenceRegexp: String {
        var regexp = "^"
        for token in tokens {
            switch token {
            case .literal(let range):
                for scalar in String(decoding: literals[range], as: UTF8.self).unicodeScalars {
                    if ".+()|{}$".unicodeScalars.contains(scalar) { regexp += "\\" }
                    regexp.unicodeScalars.append(scalar)
                }
            case .anyInSegment: regexp += "[^/]*"
            case .oneInSegment: regexp += "[^/]"
            case .characterClass(let index): regexp += classes[index].source
            case .anyDirectories: regexp += "(.*/)?"
            case .anyRemainder: regexp += ".*"
            }
        }
        return regexp + "$"
    }
}
