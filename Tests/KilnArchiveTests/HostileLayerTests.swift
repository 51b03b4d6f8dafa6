import Foundation
import KilnArchive
import KilnTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What applying a hostile layer must do.
enum HostileOutcome: Sendable {
    /// The applier throws an error naming the entry, whose text contains `reason`.
    case refused(entry: String, reason: String)
    /// The applier succeeds; `landed` (relative to the target, `{outside}` standing for the outside
    /// directory's absolute path without its leading `/`) exists when given.
    case contained(landed: String?)
}

struct HostileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var outcome: HostileOutcome
    var privileged = true
    var testDescription: String { name }
}

/// The corpus: every case `Fixtures/hostile_tars.py` generates, with its expected outcome.
let hostileCases: [HostileCase] = [
    .init(name: "dotdot", outcome: .refused(entry: "../escape.txt", reason: "\"..\" component")),
    .init(name: "dotdot-nested", outcome: .refused(entry: "a/../../escape.txt", reason: "\"..\" component")),
    .init(name: "absolute", outcome: .refused(entry: "/", reason: "absolute path")),
    .init(name: "symlink-absolute-then-file", outcome: .contained(landed: "{outside}/pwned.txt")),
    .init(name: "symlink-relative-then-file", outcome: .contained(landed: "outside/pwned.txt")),
    .init(name: "symlink-dir-chain", outcome: .contained(landed: "c/pwned.txt")),
    .init(name: "hardlink-etc-passwd", outcome: .refused(entry: "passwd", reason: "outside the layer root")),
    .init(name: "hardlink-dotdot", outcome: .refused(entry: "h", reason: "outside the layer root")),
    .init(name: "hardlink-via-symlink", outcome: .refused(entry: "h", reason: "does not exist inside the root")),
    .init(name: "device-node", outcome: .refused(entry: "null", reason: "device nodes"), privileged: false),
    .init(name: "whiteout-dotdot", outcome: .refused(entry: "a/.wh...", reason: "names no entry")),
    .init(name: "whiteout-via-symlink", outcome: .contained(landed: nil)),
    .init(name: "opaque-dotdot", outcome: .refused(entry: "../.wh..wh..opq", reason: "\"..\" component")),
    .init(name: "long-component", outcome: .refused(entry: String(repeating: "x", count: 300), reason: "File name too long")),
    .init(name: "deep-long-path", outcome: .contained(landed: nil)),
    .init(name: "symlink-loop", outcome: .refused(entry: "a/x", reason: "too many levels of symbolic links")),
    .init(name: "file-over-symlink", outcome: .contained(landed: "link")),
    .init(name: "hardlink-to-symlink-then-file", outcome: .contained(landed: "h")),
    .init(name: "preexisting-symlink", outcome: .contained(landed: "{outside}/pwned.txt")),
    .init(name: "directory-over-symlink", outcome: .contained(landed: "d/x")),
]

@Suite struct HostileLayerTests {
    static let generator = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile_tars.py")

    @Test func corpusTableMatchesTheGenerator() throws {
        let listed = try Tool.python(try String(contentsOf: Self.generator, encoding: .utf8), ["--list"])
        #expect(listed.split(separator: "\n").map(String.init) == hostileCases.map(\.name))
    }

    @Test(arguments: hostileCases)
    func hostileLayerCannotEscape(_ hostile: HostileCase) throws {
        let scratch = try Scratch()
        let target = try scratch.directory("target")
        let outside = try scratch.directory("outside")
        try Data("secret\n".utf8).write(to: outside.appendingPathComponent("secret"))
        if hostile.name == "preexisting-symlink" {
            #expect(symlink(outside.path, target.appendingPathComponent("pre").path) == 0)
        }
        let layer = scratch.path("layer.tar")
        try Tool.run("python3", [Self.generator.path, hostile.name, layer.path, outside.path])
        let passwdLinks = Self.linkCount("/etc/passwd")

        let outcome = Result { try LayerApplier(privileged: hostile.privileged).apply(layer: layer, to: target) }

        switch (hostile.outcome, outcome) {
        case (.refused(let entry, let reason), .failure(let error)):
            let message = String(describing: error)
            #expect(message.contains(entry), "error does not name the entry: \(message)")
            #expect(message.contains(reason), "error does not give the reason: \(message)")
        case (.contained(let landed), .success):
            if let landed {
                let relative = landed.replacingOccurrences(of: "{outside}", with: String(outside.path.dropFirst()))
                var info = stat()
                #expect(lstat(target.appendingPathComponent(relative).path, &info) == 0, "\(relative) not in the target")
                #expect(info.st_mode & S_IFMT == S_IFREG)
            }
        case (_, let result):
            Issue.record("expected \(hostile.outcome), got \(result)")
        }
        // Nothing outside the target changed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["secret"])
        #expect(try String(contentsOf: outside.appendingPathComponent("secret"), encoding: .utf8) == "secret\n")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)) == ["target", "outside", "layer.tar"])
        #expect(Self.linkCount("/etc/passwd") == passwdLinks)
    }

    static func linkCount(_ path: String) -> Int {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_nlink) : -1
    }
}
