import Foundation
import KilnArchive
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A rough throughput figure, run by hand: `KILN_ARCHIVE_BENCH_DIR=/usr/share swift test --filter Throughput`.
@Suite(.serialized) struct ThroughputTests {
    static let directory = ProcessInfo.processInfo.environment["KILN_ARCHIVE_BENCH_DIR"]

    @Test(.enabled(if: directory != nil, "set KILN_ARCHIVE_BENCH_DIR to measure"),
          arguments: [LayerCompression.none, .gzip(), .parallelGzip(), .zstd()])
    func writeAndApply(_ compression: LayerCompression) throws {
        let scratch = try Scratch()
        let source = URL(fileURLWithPath: Self.directory!)
        let layer = scratch.path("layer")
        let start = Date()
        let result = try LayerWriter(compression: compression).write(directory: source, to: layer)
        let writeSeconds = Date().timeIntervalSince(start)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let megabytes = Double(result.uncompressedSize) / 1_048_576
        print(String(format: "bench %@: %.0f MB tar → %.0f MB, write %.1f s (%.0f MB/s), peak RSS %d MB",
                     "\(compression)", megabytes, Double(result.size) / 1_048_576, writeSeconds, megabytes / writeSeconds,
                     usage.ru_maxrss / 1024))
        // Applying is bound by the filesystem (GNU tar -x is no faster here), so it is opt-in.
        guard ProcessInfo.processInfo.environment["KILN_ARCHIVE_BENCH_APPLY"] != nil else { return }
        let applyStart = Date()
        _ = try LayerApplier().apply(layer: layer, to: try scratch.directory("target"))
        print(String(format: "bench apply %@: %.1f s", "\(compression)", Date().timeIntervalSince(applyStart)))
    }
}
