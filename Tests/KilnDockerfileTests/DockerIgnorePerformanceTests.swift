import Foundation
import Testing
@testable import KilnDockerfile

/// A large context must be filtered quickly, even in a debug build on a busy machine.
@Suite struct DockerIgnorePerformanceTests {
    /// Thirty patterns of the kinds real `.dockerignore` files hold.
    static let patterns = [
        ".git", ".github", "**/.DS_Store", "**/node_modules", "*.md", "!README.md", "docs", "build/",
        "dist/**", "**/*.log", "**/*.tmp", "coverage", ".env*", "*.swp", "**/__pycache__", "**/*.py[co]",
        "tmp?", "vendor/*/testdata", "**/.cache/**", "target", "!target/release/app", "*.o", "*.a",
        ".build", "Packages/*/checkouts", "**/test-results", "[Tt]humbs.db", "!docs/api/*.md", "out/**/*.map", ".idea",
    ]

    /// 100,000 relative paths over a plausible tree (depth 1 to 6).
    static func contextPaths() -> [String] {
        let directories = ["src", "lib", "node_modules", "docs", "build", "dist", "vendor", "target", "app", "test"]
        let subdirectories = ["core", "util", "api", "release", "testdata", "__pycache__", ".cache", "models", "views"]
        let files = ["main.swift", "index.js", "README.md", "notes.md", "a.log", "x.tmp", "mod.pyc", "lib.o",
                     "app", "data.json", "Thumbs.db", "page.map"]
        var paths: [String] = []
        paths.reserveCapacity(100_000)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        while paths.count < 100_000 {
            var path = directories[next(directories.count)]
            for _ in 0..<next(5) { path += "/" + subdirectories[next(subdirectories.count)] }
            paths.append(path + "/" + files[next(files.count)])
        }
        return paths
    }

    @Test func hundredThousandPathsThirtyPatterns() throws {
        let filter = BuildContextFilter(matcher: try PatternMatcher(Self.patterns))
        let paths = Self.contextPaths()
        var excluded = 0
        let start = Self.threadCPUSeconds()
        for path in paths where try filter.isExcluded(path) { excluded += 1 }
        let elapsed = Self.threadCPUSeconds() - start
        #expect(excluded > 10_000 && excluded < 100_000, "the sample exercises both outcomes")
        // About 1.3 s of CPU in a debug build (a release build is many times faster).
        #expect(elapsed < 6, "took \(elapsed) s of CPU")
    }

    /// CPU time of the calling thread: unlike the wall clock it does not grow when other
    /// tests or other builds on the machine take the cores.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
