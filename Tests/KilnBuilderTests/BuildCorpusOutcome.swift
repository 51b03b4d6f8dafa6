import Foundation
import KilnTestSupport
import Testing

/// How building one fixture with one tool ended.
enum BuildCorpusOutcome: Sendable {
    /// The build failed: its exit status and everything it printed.
    case failed(status: Int32, output: String)
    /// The build made an image.
    case built(BuildCorpusBuiltImage)
}

/// A built image as the corpus sees it: config summary, rootfs listing, and the container's output.
struct BuildCorpusBuiltImage: Sendable {
    /// Config fields, history and layer counts.
    var image: BuildCorpusImage
    /// The final rootfs: path → type, mode, owner, size, link.
    var files: [String: String]
    /// What running the entrypoint and command printed, and its status.
    var run: KilnBinary.Result

    /// Unpacks `layout:refName` with umoci under `work`, lists it, runs it, and removes the bundle.
    init(image: BuildCorpusImage, layout: URL, refName: String, work: URL) throws {
        let bundle = try BuildCorpusBundle(layout: layout, refName: refName, in: work)
        defer { bundle.remove() }
        self.image = image
        // Listed before running: the runtime may add mount points to the rootfs.
        files = try bundle.files()
        run = try bundle.run()
    }
}

extension BuildCorpusFixture {
    /// Records an issue for every way `outcome` misses this fixture's `expect.json`.
    /// `tool` names the builder in messages; `failureTexts` are the texts its error must contain.
    func check(_ outcome: BuildCorpusOutcome, tool: String, failureTexts: [String]?) {
        switch (outcome, expectation.fail) {
        case (.failed(let status, let output), .some):
            #expect(status != 0)
            for text in failureTexts ?? [] {
                #expect(output.contains(text), "\(name): \(tool)'s error lacks \(text.debugDescription):\n\(output.suffix(3000))")
            }
        case (.failed(let status, let output), .none):
            Issue.record("\(name): \(tool) failed (\(status)):\n\(output.suffix(4000))")
        case (.built, .some):
            Issue.record("\(name): \(tool) built an image, but the build must fail")
        case (.built(let built), .none):
            for path in expectation.exists ?? [] {
                #expect(built.files[path] != nil, "\(name): \(tool)'s image lacks \(path)")
            }
            for path in expectation.absent ?? [] {
                #expect(built.files[path] == nil, "\(name): \(tool)'s image has \(path): \(built.files[path] ?? "")")
            }
            guard let run = expectation.run else { return }
            let context = "\(name): \(tool)'s container exited \(built.run.status); stderr: \(built.run.stderr.suffix(2000))"
            #expect(built.run.status == 0, "\(context)")
            let stdout = built.run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if let expected = run.stdout {
                #expect(stdout == expected, "\(context)")
            }
            for text in run.contains ?? [] {
                #expect(stdout.contains(text), "\(name): \(tool)'s output lacks \(text.debugDescription): \(stdout)")
            }
        }
    }
}
