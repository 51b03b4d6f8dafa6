import Testing
@testable import KilnDockerfile

/// Behaviour of the matcher beyond the conformance tables.
@Suite struct DockerIgnoreMatcherTests {
    @Test(arguments: [
        ("", "."), (".", "."), ("./", "."), ("/", "/"), ("//", "/"), ("a//b", "a/b"), ("a/./b/", "a/b"),
        ("a/b/../c", "a/c"), ("../x", "../x"), ("a/../../x", "../x"), ("/../x", "/x"), ("../../a/..", "../.."),
        ("!./x", "!./x"), ("!a/../b", "b"), ("abc/..", "."),
    ])
    func cleanIsGosFilepathClean(_ input: String, _ expected: String) {
        #expect(SlashPath.clean(input) == expected)
    }

    @Test(arguments: ["a", "a/b", "/a/b", ".", "/", "..", "../a", "a/..", "a//b", "a/", "./a", "a/.", ".a/b.", "a/..b", ""])
    func cleanCheckAgreesWithClean(_ path: String) {
        var bytes = path
        let claimedClean = bytes.withUTF8 { SlashPath.isClean($0) }
        // The fast check may only say "clean" when Clean really leaves the path alone.
        if claimedClean { #expect(SlashPath.clean(path) == path) }
        if ["a", "a/b", "/a/b", "a/..b", ".a/b."].contains(path) { #expect(claimedClean) }
    }

    @Test func dirIsGosFilepathDir() {
        #expect(SlashPath.dir("a/b/c") == "a/b")
        #expect(SlashPath.dir("file/") == "file")
        #expect(SlashPath.dir("x") == ".")
        #expect(SlashPath.dir("/") == "/")
        #expect(SlashPath.dir("/x") == "/")
        #expect(SlashPath.dir("a//b") == "a")
    }

    @Test func bangInsideBracketsIsAMemberNotANegation() throws {
        // Go's filepath.Match (and the reference's regexp) only negate with `^`.
        let matcher = try PatternMatcher(["a[!b]c"])
        #expect(try matcher.matchesOrParentMatches("a!c"))
        #expect(try matcher.matchesOrParentMatches("abc"))
        #expect(try !matcher.matchesOrParentMatches("axc"))
    }

    @Test func bracketsMatchOneCharacterIncludingMultibyteAndSlash() throws {
        #expect(try PatternMatcher(["a[^x]b"]).matchesOrParentMatches("a/b"))
        #expect(try PatternMatcher(["a[☺-☻]b"]).matchesOrParentMatches("a☻b"))
        #expect(try !PatternMatcher(["a?b"]).matchesOrParentMatches("a/b"))
        #expect(try PatternMatcher(["*?"]).matchesOrParentMatches("☺"))
        #expect(try !PatternMatcher(["*??"]).matchesOrParentMatches("☺"), "? takes a whole character, not a byte")
    }

    @Test func escapesAndMetacharactersAreLiteral() throws {
        #expect(try PatternMatcher(["a\\?b"]).matchesOrParentMatches("a?b"))
        #expect(try !PatternMatcher(["a\\?b"]).matchesOrParentMatches("axb"))
        #expect(try PatternMatcher(["[*]x"]).matchesOrParentMatches("*x"))
        #expect(try PatternMatcher(["a^b"]).matchesOrParentMatches("a^b"))
        #expect(try PatternMatcher(["a]b*"]).matchesOrParentMatches("a]bc"))
    }

    @Test func leadingDoubleStarBeforeTextIsASuffixTest() throws {
        // The reference's "suffix" form: `**file` is a plain suffix test, so it matches `myfile`.
        #expect(try PatternMatcher(["**file"]).matchesOrParentMatches("myfile"))
        #expect(try PatternMatcher(["x**"]).matchesOrParentMatches("xyz/abc"))
        // In the middle `**` only stands for whole directories.
        #expect(try !PatternMatcher(["a**b"]).matchesOrParentMatches("axb"))
        #expect(try PatternMatcher(["a**b"]).matchesOrParentMatches("a/x/b"))
    }

    @Test func doubleStarDoesNotCrossNewlinesLikeTheReferenceRegexp() throws {
        #expect(try !PatternMatcher(["a/**/*.txt"]).matchesOrParentMatches("a/x\ny/f.txt"))
        #expect(try PatternMatcher(["a/*.txt"]).matchesOrParentMatches("a/x\ny.txt"))
    }

    @Test func lastApplicablePatternWins() throws {
        let matcher = try PatternMatcher(["*.txt", "!keep*.txt", "keep-not.txt"])
        #expect(try matcher.matchesOrParentMatches("a.txt"))
        #expect(try !matcher.matchesOrParentMatches("keep.txt"))
        #expect(try matcher.matchesOrParentMatches("keep-not.txt"))
    }

    @Test func exceptionsAreNotTrimmedAfterTheBangByTheMatcher() throws {
        // The reader trims after `!`; a list built by hand keeps the space, as the reference does.
        let matcher = try PatternMatcher(["*", "! keep"])
        #expect(matcher.patterns.last?.text == " keep")
        #expect(try matcher.matchesOrParentMatches("keep"))
    }

    @Test func deferredErrorOnlyWhenThePatternIsEvaluated() throws {
        let matcher = try PatternMatcher(["**", "[z-a]"])
        // The second pattern cannot change anything once `**` matched, so it is skipped.
        #expect(try matcher.matchesOrParentMatches("x"))
        #expect(throws: PatternError.badPattern("[z-a]")) { try PatternMatcher(["[z-a]"]).matchesOrParentMatches("x") }
    }

    @Test func walkFormKeepsWhatASkippedInclusionWouldExcludeThroughTheParent() throws {
        let matcher = try PatternMatcher(["a", "!a/b", "a"])
        let parent = try matcher.matchesUsingParentResults("a")
        #expect(parent.matched)
        #expect(try !matcher.matchesUsingParentResults("a/b", parentResults: parent.results).matched)
        #expect(try matcher.matchesOrParentMatches("a/b"))
    }

    @Test func parentResultsFromAnotherMatcherAreRejected() throws {
        let parent = try PatternMatcher(["a", "b"]).matchesUsingParentResults("a").results
        #expect(throws: PatternError.mismatchedParentResults(expected: 1, got: 2)) {
            try PatternMatcher(["a"]).matchesUsingParentResults("a/x", parentResults: parent)
        }
    }

    @Test func oneParentLevelCheckOfTheDeprecatedMethod() throws {
        let matcher = try PatternMatcher(["a"])
        #expect(try matcher.matchesCheckingOneParentLevel("a/b/c"))
        // `*/b` has two segments: only `x/b` is tried as the parent of `x/b/c/d`, and it matches.
        #expect(try PatternMatcher(["*/b"]).matchesCheckingOneParentLevel("x/b/c/d"))
        #expect(try !PatternMatcher(["x"]).matchesCheckingOneParentLevel("."))
        #expect(try !PatternMatcher.matches("./", patterns: ["*"]))
    }

    @Test func errorMessagesAreTheReferences() {
        #expect(PatternError.illegalExclusion.description == #"illegal exclusion pattern: "!""#)
        #expect(PatternError.badPattern("[").description == "syntax error in pattern: [")
    }

    @Test func manyWildcardsStayFast() throws {
        // Exponential for naive backtracking; the failure memo keeps it polynomial.
        let matcher = try PatternMatcher(["**/a*a*a*a*a*a*a*a*a*a*b"])
        let path = String(repeating: "a/", count: 20) + String(repeating: "a", count: 60)
        var matched: Bool?
        let elapsed = ContinuousClock().measure { matched = try? matcher.matchesOrParentMatches(path) }
        #expect(matched == false)
        #expect(elapsed < .seconds(5))
    }
}
