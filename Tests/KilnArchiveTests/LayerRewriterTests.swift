import Foundation
import KilnArchive
import KilnOCI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The output transforms applied to cached layers: recompression and the SOURCE_DATE_EPOCH
/// clamp, read back by Python's tarfile.
@Suite struct LayerRewriterTests {
    static let epoch: Int64 = 1_700_000_000

    /// A layer of the sample tree with some mtimes after the epoch, one far beyond what ustar
    /// holds (a PAX `mtime` record), and one before it.
    func makeLayer(in scratch: Scratch) throws -> (layer: URL, written: LayerWriteResult) {
        let source = try scratch.directory("source")
        try SampleTree.make(at: source)
        let late = timespec(tv_sec: 1_800_000_000, tv_nsec: 0), farFuture = timespec(tv_sec: 9_000_000_000, tv_nsec: 0)
        let early = timespec(tv_sec: 1_000, tv_nsec: 0)
        _ = utimensat(AT_FDCWD, source.appendingPathComponent("a/file.txt").path, [late, late], 0)
        _ = utimensat(AT_FDCWD, source.appendingPathComponent("big.bin").path, [farFuture, farFuture], 0)
        _ = utimensat(AT_FDCWD, source.appendingPathComponent("a/link").path, [early, early], AT_SYMLINK_NOFOLLOW)
        let layer = scratch.path("layer.tar.gz")
        let written = try LayerWriter(compression: .parallelGzip()).write(directory: source, to: layer)
        return (layer, written)
    }

    @Test func clampingLowersOnlyLaterMtimesAndKeepsEverythingElse() throws {
        let scratch = try Scratch()
        let (layer, written) = try makeLayer(in: scratch)
        let before = try TarInspection.members(of: layer)
        #expect(before.contains { $0.name == "big.bin" && $0.pax["mtime"] != nil }, "the sample needs a PAX mtime record")
        let output = scratch.path("clamped.tar.gz")
        let result = try LayerRewriter(compression: .gzip(), clampTime: Self.epoch)
            .rewrite(layer, sourceDigest: written.digest, to: output)
        #expect(result.mediaType == .ociLayerGzip)
        #expect(try Tool.sha256(of: output) == result.digest.description)
        let after = try TarInspection.members(of: output)
        #expect(after.count == before.count)
        for (old, new) in zip(before, after) {
            #expect(new.mtime == min(old.mtime, Int(Self.epoch)), "\(old.name)")
            var expected = old
            expected.mtime = new.mtime
            expected.pax["mtime"] = nil
            var actual = new
            actual.pax["mtime"] = nil
            #expect(actual == expected)
            if let record = new.pax["mtime"] { #expect(Int(Double(record)!) == min(old.mtime, Int(Self.epoch))) }
        }
        #expect(after.first { $0.name == "a/link" }?.mtime == 1_000)
        // The data is untouched: every regular file reads back with the same bytes.
        let contents = """
            import sys, tarfile, hashlib
            def files(path):
                with tarfile.open(path) as tar:
                    return {m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest() for m in tar if m.isreg()}
            a, b = files(sys.argv[1]), files(sys.argv[2])
            print("same" if a == b and len(a) > 2 else "differ %r %r" % (a, b))
            """
        #expect(try Tool.python(contents, [layer.path, output.path]).trimmingCharacters(in: .whitespacesAndNewlines) == "same")
    }

    @Test func theSameSourceAndSettingsGiveTheSameBytes() throws {
        let scratch = try Scratch()
        let (layer, written) = try makeLayer(in: scratch)
        let rewriter = LayerRewriter(compression: .parallelGzip(), clampTime: Self.epoch)
        let one = try rewriter.rewrite(layer, sourceDigest: written.digest, to: scratch.path("one"))
        let two = try rewriter.rewrite(layer, sourceDigest: written.digest, to: scratch.path("two"))
        #expect(one == two)
        // Recompression alone keeps the tar stream: the diffID does not change.
        let recompressed = try LayerRewriter(compression: .zstd(), clampTime: nil)
            .rewrite(layer, sourceDigest: written.digest, to: scratch.path("three"))
        #expect(recompressed.diffID == written.diffID)
        #expect(recompressed.digest != written.digest)
        // Clamping a clamped layer changes nothing more.
        let again = try rewriter.rewrite(scratch.path("one"), sourceDigest: one.digest, to: scratch.path("four"))
        #expect(again.diffID == one.diffID)
    }

    @Test func aCorruptSourceIsNamed() throws {
        let scratch = try Scratch()
        let (layer, written) = try makeLayer(in: scratch)
        let handle = try FileHandle(forUpdating: layer)
        try handle.seek(toOffset: UInt64(written.size - 20))
        try handle.write(contentsOf: Data([0x42]))
        try handle.close()
        #expect {
            try LayerRewriter(compression: .zstd(), clampTime: nil).rewrite(layer, sourceDigest: written.digest, to: scratch.path("out"))
        } throws: { "\($0)".contains(written.digest.description) || "\($0)".contains("corrupt") }
    }
}
