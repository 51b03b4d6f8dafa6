import Testing
@testable import KilnDockerfile

/// When a context walk may skip a whole directory.
@Suite struct DockerIgnoreDirectorySkipTests {
    struct SkipCase: Sendable, CustomStringConvertible {
        var patterns: [String]
        var directory: String
        var canSkip: Bool
        var description: String { "\(patterns) \(directory) → \(canSkip)" }
    }

    @Test(arguments: [
        SkipCase(patterns: ["node_modules"], directory: "node_modules", canSkip: true),
        SkipCase(patterns: ["node_modules"], directory: "src", canSkip: false),
        SkipCase(patterns: ["**/node_modules"], directory: "web/node_modules", canSkip: true),
        SkipCase(patterns: ["build", "!build/keep"], directory: "build", canSkip: false),
        SkipCase(patterns: ["build", "!other/keep"], directory: "build", canSkip: true),
        SkipCase(patterns: ["*", "!**/*.go"], directory: "vendor", canSkip: false),
        SkipCase(patterns: ["*", "!*/keep.txt"], directory: "a", canSkip: false),
        SkipCase(patterns: ["*", "!src"], directory: "docs", canSkip: true),
        SkipCase(patterns: ["*", "!src"], directory: "src", canSkip: false),
        SkipCase(patterns: ["*", "!src/**"], directory: "srcx", canSkip: true),
        SkipCase(patterns: ["*", "!sr[a-c]/x"], directory: "src", canSkip: false),
        SkipCase(patterns: ["*", "!sr[a-c]/x"], directory: "srd", canSkip: true),
        SkipCase(patterns: ["*", "!a/b/c"], directory: "a/b", canSkip: false),
        SkipCase(patterns: ["*", "!a/b/c"], directory: "a/x", canSkip: true),
        SkipCase(patterns: ["!build/keep", "build"], directory: "build", canSkip: true),
        SkipCase(patterns: ["docs/*", "!docs/README.md"], directory: "docs", canSkip: false),
        SkipCase(patterns: ["docs/*", "!docs/README.md"], directory: "docs/sub", canSkip: true),
        SkipCase(patterns: ["a", "!a", "a"], directory: "a", canSkip: true),
        SkipCase(patterns: ["*", "!a**"], directory: "abc", canSkip: false),
        SkipCase(patterns: ["*", "!**keep"], directory: "abc", canSkip: false),
    ])
    func skipDecision(_ testCase: SkipCase) throws {
        let matcher = try PatternMatcher(testCase.patterns)
        #expect(matcher.excludesEverything(under: testCase.directory) == testCase.canSkip)
    }

    /// Soundness: whenever a directory may be skipped, every path below it is excluded.
    @Test(arguments: [
        ["*", "!src"], ["build", "!build/keep"], ["**/*.md", "!**/README.md"], ["*", "!*/keep.txt"],
        ["a", "!a/b", "a/b/c"], ["*", "!a?/**", "a1/x"], ["[ab]*", "![b]/[!y]"], ["x/**", "!x/*/z*"],
    ])
    func skippedDirectoriesHoldNothingIncluded(_ patterns: [String]) throws {
        let matcher = try PatternMatcher(patterns)
        let names = ["a", "a1", "b", "x", "y", "z", "zz", "src", "build", "keep", "keep.txt", "README.md", "!"]
        var paths = names
        for _ in 0..<2 { paths += paths.flatMap { parent in names.map { parent + "/" + $0 } } }
        for directory in paths where matcher.excludesEverything(under: directory) {
            for path in paths where path.hasPrefix(directory + "/") {
                #expect(try matcher.matchesOrParentMatches(path), "\(directory) skipped but \(path) is included")
            }
        }
    }
}
