import Foundation
import KilnOCI
import Testing

/// Parsing and normalisation as containerd's `platforms` package does it.
@Suite struct PlatformTests {
    static let host = Platform.host

    @Test(arguments: [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/aarch64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64/v8"),
        ("linux/arm64/8", "linux/arm64/v8"),
        ("linux/aarch64/v8.0", "linux/arm64/v8"),
        ("linux/arm64/9", "linux/arm64/v9"),
        ("linux/arm64/v9.0", "linux/arm64/v9"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/arm/v5", "linux/arm/v5"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/i386", "linux/386"),
        ("Linux/AMD64", "linux/amd64"),
        ("macos/arm64", "darwin/arm64/v8"),
        ("windows/amd64", "windows/amd64"),
        ("linux/ppc64le", "linux/ppc64le"),
        ("linux/s390x", "linux/s390x"),
        ("linux/riscv64", "linux/riscv64"),
        ("amd64", "\(host.os)/amd64"),
        ("aarch64", "\(host.os)/arm64/v8"),
        ("linux", "linux/\(host.architecture)" + (host.variant.map { "/" + $0 } ?? "")),
    ])
    func parsesAndNormalises(_ specifier: String, _ expected: String) throws {
        #expect(try Platform(parsing: specifier).description == expected)
    }

    @Test(arguments: ["", "linux/", "/amd64", "linux/amd64/v8/extra", "linux/*", "linux/amd 64", "notanos", "linux//v7"])
    func rejectsInvalidSpecifiers(_ specifier: String) {
        #expect(throws: PlatformError.self) { try Platform(parsing: specifier) }
    }

    @Test func errorNamesTheBadComponent() {
        #expect {
            try Platform(parsing: "linux/amd 64")
        } throws: { error in
            (error as? PlatformError)?.description.contains("\"amd 64\"") == true
        }
    }

    @Test func osVersionInParentheses() throws {
        let platform = try Platform(parsing: "windows(10.0.17763)/amd64")
        #expect(platform.os == "windows")
        #expect(platform.osVersion == "10.0.17763")
        #expect(platform.architecture == "amd64")
    }

    @Test func normalizedAndMatching() {
        let raw = Platform(os: "Linux", architecture: "aarch64")
        #expect(raw.normalized == Platform(os: "linux", architecture: "arm64", variant: "v8"))
        #expect(Platform(os: "linux", architecture: "arm64").matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(Platform(os: "linux", architecture: "arm").matches(Platform(os: "linux", architecture: "arm", variant: "v7")))
        #expect(Platform(os: "linux", architecture: "x86_64").matches(Platform(os: "linux", architecture: "amd64")))
        #expect(!Platform(os: "linux", architecture: "arm", variant: "v6").matches(Platform(os: "linux", architecture: "arm", variant: "v7")))
        #expect(!Platform(os: "linux", architecture: "amd64").matches(Platform(os: "windows", architecture: "amd64")))
    }

    @Test func hostIsAKnownNormalisedPlatform() throws {
        #if os(Linux)
        #expect(Platform.host.os == "linux")
        #endif
        #expect(Platform.host == Platform.host.normalized)
        #expect(try Platform(parsing: Platform.host.description) == Platform.host)
    }

    @Test func jsonUsesSpecKeysAndOmitsEmptyFields() throws {
        let windows = Platform(os: "windows", architecture: "amd64", osVersion: "10.0.17763.1234", osFeatures: ["win32k"])
        #expect(String(decoding: try CanonicalJSON.encode(windows), as: UTF8.self)
            == #"{"architecture":"amd64","os":"windows","os.features":["win32k"],"os.version":"10.0.17763.1234"}"#)
        #expect(String(decoding: try CanonicalJSON.encode(Platform(os: "linux", architecture: "arm64", variant: "v8")), as: UTF8.self)
            == #"{"architecture":"arm64","os":"linux","variant":"v8"}"#)
        let decoded = try CanonicalJSON.decode(Platform.self, from: Data(#"{"os":"linux","architecture":"arm","variant":"v7","features":["sse4"],"x":1}"#.utf8))
        #expect(decoded == Platform(os: "linux", architecture: "arm", variant: "v7", features: ["sse4"]))
    }
}
