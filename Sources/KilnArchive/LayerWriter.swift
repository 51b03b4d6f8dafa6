import Foundation
import KilnOCI
#if canImport(Glibc)
import Glibc
#endif

/// Streams a list of changes from a directory into a compressed tar layer.
///
/// One pass: tar (libarchive) → sha256 (diffID) → compressor → sha256 (digest) → output,
/// with memory bounded by the codec's buffers whatever the layer's size. Entries are
/// written in component-wise path order (parents before children) with numeric ids, empty
/// user and group names, and second-resolution mtimes (clamped to `sourceDateEpoch` when set),
/// so the same tree and options always give the same bytes.
///
/// Synchronous and CPU-bound: call it from a thread of its own, not the cooperative pool.
public struct LayerWriter: Sendable {
    /// How the tar stream is compressed.
    public var compression: LayerCompression
    /// When set, mtimes later than this (seconds since the epoch) are clamped to it, and
    /// whiteout markers get it as their mtime (otherwise 0).
    public var sourceDateEpoch: Int64?

    /// A writer with the given codec and optional `SOURCE_DATE_EPOCH`.
    public init(compression: LayerCompression = .parallelGzip(), sourceDateEpoch: Int64? = nil) {
        self.compression = compression
        self.sourceDateEpoch = sourceDateEpoch
    }

    /// Writes `changes`, read from `root`, as a layer at `output` (created or truncated),
    /// passing `gate` before every entry and every chunk of file data (it stops the writing
    /// when it closes; the caller removes `output`).
    public func write(changes: [LayerChange], from root: URL, to output: URL,
                      gate: WriteGate = .unbounded) throws -> LayerWriteResult {
        let file = try FileSink(creating: output.path)
        return try write(changes: changes, from: root, into: file, gate: gate)
    }

    /// Writes every entry below `root` (not `root` itself) as one layer at `output`.
    public func write(directory root: URL, to output: URL) throws -> LayerWriteResult {
        let paths = try SourceTree(root: root.path).allPaths()
        return try write(changes: paths.map { .write(path: $0) }, from: root, to: output)
    }

    /// Writes `changes`, read from `root`, handing the blob's bytes to `output` as they are
    /// produced (to a file, an upload, …). The buffer is only valid during each call.
    public func write(changes: [LayerChange], from root: URL,
                      output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> LayerWriteResult {
        try write(changes: changes, from: root, into: ClosureSink(output), gate: .unbounded)
    }

    private func write(changes: [LayerChange], from root: URL, into output: any ByteSink,
                       gate: WriteGate) throws -> LayerWriteResult {
        try HeaderCharset.withUTF8 { try writeTar(changes: changes, from: root, into: output, gate: gate) }
    }

    private func writeTar(changes: [LayerChange], from root: URL, into output: any ByteSink,
                          gate: WriteGate) throws -> LayerWriteResult {
        let compressed = HashingSink(downstream: output)
        let compressor = try compression.makeCompressor(downstream: compressed)
        let uncompressed = HashingSink(downstream: compressor)
        let tar = try TarEntryWriter(sink: uncompressed)
        let tree = try SourceTree(root: root.path)
        let source = LayerSource(tree: tree, sourceDateEpoch: sourceDateEpoch, gate: gate)
        var count = 0
        for change in Self.ordered(changes) {
            if try source.write(change, to: tar) { count += 1 }
        }
        try tar.finish()
        try uncompressed.finish()
        return LayerWriteResult(diffID: uncompressed.digest, digest: compressed.digest, size: compressed.byteCount,
                                uncompressedSize: uncompressed.byteCount, mediaType: compression.mediaType,
                                entryCount: count)
    }

    /// Changes in the order their tar entries must appear: by the archive path each one
    /// produces, component-wise, so a directory always precedes what it contains.
    static func ordered(_ changes: [LayerChange]) -> [LayerChange] {
        changes
            .map { (key: ArchivePath.sortKey(archivePath(of: $0)), change: $0) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            .map(\.change)
    }

    /// The tar path a change is written under.
    static func archivePath(of change: LayerChange) -> String {
        switch change {
        case .write(let path): return path
        case .delete(let path): return Whiteout.deletionMarker(for: path)
        case .opaque(let directory): return Whiteout.opaqueMarker(in: directory)
        }
    }
}
