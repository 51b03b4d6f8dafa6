import Foundation
import KilnArchive
import KilnOCI
import Testing

@Suite struct ParallelGzipTests {
    /// A layer of several megabytes so that many blocks are in flight at once.
    static func bigSource(_ scratch: Scratch) throws -> URL {
        let source = try scratch.directory("source")
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        for index in 0..<6 {
            // Half noise (xorshift), half repetitive: both incompressible and compressible blocks.
            var bytes = [UInt8](repeating: 0, count: 400 << 10)
            for i in bytes.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                bytes[i] = UInt8(truncatingIfNeeded: state)
            }
            bytes += Array(repeating: UInt8(index), count: 600 << 10)
            try Data(bytes).write(to: source.appendingPathComponent("file\(index)"))
        }
        return source
    }

    @Test func membersDecompressWithGzipAndPython() throws {
        let scratch = try Scratch()
        let source = try Self.bigSource(scratch)
        let layer = scratch.path("layer.tar.gz")
        let result = try LayerWriter(compression: .parallelGzip(level: 6, blockSize: 1 << 20, threads: 2))
            .write(directory: source, to: layer)
        let viaGzip = try Tool.output("gzip", ["-dc", layer.path])
        #expect(Digest.sha256(of: viaGzip) == result.diffID)
        let viaPython = try Tool.python("""
            import gzip, hashlib, sys
            print("sha256:" + hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())
            """, [layer.path])
        #expect(viaPython.trimmingCharacters(in: .whitespacesAndNewlines) == result.diffID.description)
        try Tool.run("gzip", ["-t", layer.path])
        let members = try Self.memberCount(layer)
        #expect(members == Int((result.uncompressedSize + (1 << 20) - 1) >> 20))
        #expect(members > 1)
    }

    @Test func outputDoesNotDependOnThreadCount() throws {
        let scratch = try Scratch()
        let source = try Self.bigSource(scratch)
        let one = try LayerWriter(compression: .parallelGzip(level: 6, blockSize: 512 << 10, threads: 1))
            .write(directory: source, to: scratch.path("1"))
        let four = try LayerWriter(compression: .parallelGzip(level: 6, blockSize: 512 << 10, threads: 4))
            .write(directory: source, to: scratch.path("4"))
        #expect(one == four)
    }

    @Test func emptyLayerIsValidGzip() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("empty")
        let layer = scratch.path("layer.tar.gz")
        let result = try LayerWriter(compression: .parallelGzip()).write(changes: [], from: source, to: layer)
        try Tool.run("gzip", ["-t", layer.path])
        #expect(Digest.sha256(of: try Tool.output("gzip", ["-dc", layer.path])) == result.diffID)
    }

    @Test func incompressibleBlocksAreStoredAndTheRestCompressed() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        var state: UInt64 = 0x2545_f491_4f6c_dd1d
        var noise = [UInt8](repeating: 0, count: 3 << 20)
        for i in noise.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            noise[i] = UInt8(truncatingIfNeeded: state)
        }
        try Data(noise).write(to: source.appendingPathComponent("a-noise"))
        try Data(String(repeating: "a line of text that repeats\n", count: (3 << 20) / 28).utf8)
            .write(to: source.appendingPathComponent("b-text"))
        let layer = scratch.path("layer.tar.gz")
        let result = try LayerWriter(compression: .parallelGzip(level: 6, blockSize: 1 << 20, threads: 2))
            .write(directory: source, to: layer)
        #expect(Digest.sha256(of: try Tool.output("gzip", ["-dc", layer.path])) == result.diffID)
        // Each member's first deflate block type, read by Python: 0 is stored, 1 or 2 compressed.
        let kinds = try Tool.python("""
            import sys, zlib
            data, kinds = open(sys.argv[1], "rb").read(), []
            while data:
                assert data[:3] == b"\\x1f\\x8b\\x08" and data[3] == 0, "a minimal gzip header"
                kinds.append("stored" if (data[10] >> 1) & 3 == 0 else "compressed")
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                d.decompress(data)
                data = d.unused_data
            print(" ".join(kinds))
            """, [layer.path]).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        // Blocks 0–2 lie inside the noise; block 3 starts with its last 512 bytes, then the text.
        #expect(kinds == ["stored", "stored", "stored", "compressed", "compressed", "compressed", "compressed"])
        // The noise costs its size and a little; the text almost nothing.
        #expect(result.size < (3 << 20) + (3 << 20) / 50, "\(result.size)")
    }

    /// Counts gzip members by inflating one after another, as Python's zlib sees them.
    static func memberCount(_ file: URL) throws -> Int {
        let out = try Tool.python("""
            import sys, zlib
            data, count = open(sys.argv[1], "rb").read(), 0
            while data:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                d.decompress(data)
                data, count = d.unused_data, count + 1
            print(count)
            """, [file.path])
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
