import Foundation
@testable import KilnArchive
import KilnTestSupport
import Testing

/// Every seed and every finding of the layer-application fuzz target
/// (`fuzz/corpus/layer-apply`, see `fuzz/run-layer-apply.sh`), run through the same
/// containment check the fuzzer asserts: nothing outside the target root changes.
@Suite struct LayerApplyFuzzCorpusTests {
    static let corpus = Conformance.packageRoot.appendingPathComponent("fuzz/corpus/layer-apply")
    static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()

    private static func base() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-corpus-\(UUID().uuidString)")
    }

    @Test(arguments: files)
    func staysInsideItsRoot(_ name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(name)))
        let base = Self.base()
        defer { try? FileManager.default.removeItem(at: base) }
        for privileged in [true, false] where privileged == false || geteuid() == 0 {
            try LayerApplyContainmentCheck(base: base, privileged: privileged).run(bytes)
        }
        // The sandbox is gone afterwards, whatever the layer made in it.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []).isEmpty)
    }

    @Test func corpusHoldsEveryShape() {
        let names = Self.files
        #expect(names.count >= 30)
        for shape in [".tar.gz", ".tar.zst", "truncated", "huge-size", "hardlink", "whiteout", "opaque", "devices", "dotdot", "absolute", "symlink"] {
            #expect(names.contains { $0.contains(shape) }, "no corpus file for \(shape)")
        }
    }

    /// The check is only worth something if it sees a change outside the root.
    @Test func stateSeesChangesOutsideTheRoot() throws {
        let base = Self.base()
        defer { try? FileManager.default.removeItem(at: base) }
        let skipped = base.appendingPathComponent("root").path
        try FileManager.default.createDirectory(atPath: skipped, withIntermediateDirectories: true)
        try Data("a".utf8).write(to: base.appendingPathComponent("decoy"))
        let before = LayerApplyContainmentCheck.state(below: base.path, skipping: skipped)
        try Data("b".utf8).write(to: base.appendingPathComponent("decoy"))
        #expect(LayerApplyContainmentCheck.state(below: base.path, skipping: skipped) != before)
        try Data("a".utf8).write(to: base.appendingPathComponent("decoy"))
        let restored = LayerApplyContainmentCheck.state(below: base.path, skipping: skipped)
        try Data("x".utf8).write(to: URL(fileURLWithPath: skipped + "/inside"))
        #expect(LayerApplyContainmentCheck.state(below: base.path, skipping: skipped) == restored)
        try FileManager.default.createSymbolicLink(atPath: base.path + "/new-link", withDestinationPath: "/")
        #expect(LayerApplyContainmentCheck.state(below: base.path, skipping: skipped) != restored)
    }

    /// An ordinary layer passes the check and is applied whole (the check does not merely
    /// refuse everything).
    @Test func aLayerThatStaysInsideIsAccepted() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent("plain-files.tar.gz")))
        let base = Self.base()
        defer { try? FileManager.default.removeItem(at: base) }
        let outcome = try LayerApplyContainmentCheck(base: base).run(bytes)
        #expect((try? outcome.get())?.entryCount == 5)
    }
}
