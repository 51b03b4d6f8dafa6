import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Applies a layer blob (gzip, zstd or plain tar, told apart by magic number) onto a directory.
///
/// OCI semantics: `.wh.<name>` deletes `<name>` from below, `.wh..wh..opq` empties its
/// directory of lower content while keeping what this layer put there, later entries replace
/// earlier ones. Every path is resolved inside the target like a chroot would (see
/// `ContainedRoot`): absolute paths and `..` components are refused, symlinks met on the way
/// (from this layer or already in the target) can never lead outside it, hardlinks must name
/// an entry inside the target, and device nodes need a privileged applier.
///
/// Synchronous: call it from a thread of its own, not the cooperative pool.
public struct LayerApplier: Sendable {
    /// Whether entries get their recorded owners and device nodes may be created; true when
    /// running as root. When false, files belong to the caller and device entries are refused.
    public var privileged: Bool
    /// When set, only the entries it keeps are applied (see ``LayerEntrySelection``); the whole
    /// blob is still read and hashed.
    public var selection: LayerEntrySelection?

    /// An applier; `privileged` defaults to whether the process runs as root.
    public init(privileged: Bool = geteuid() == 0, selection: LayerEntrySelection? = nil) {
        self.privileged = privileged
        self.selection = selection
    }

    /// Applies the layer blob at `layer` onto the directory `root`, passing `gate` before every
    /// entry and every chunk of file data (it stops the application when it closes; what was
    /// applied so far stays for the caller to remove).
    public func apply(layer: URL, to root: URL, gate: WriteGate = .unbounded) throws -> LayerApplyResult {
        try HeaderCharset.withUTF8 { try applyTar(layer: layer, to: root, gate: gate) }
    }

    private func applyTar(layer: URL, to root: URL, gate: WriteGate) throws -> LayerApplyResult {
        let fd = open(layer.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.lastSystemError("open", layer.path) }
        defer { close(fd) }
        let source = LayerReadAhead(try LayerDecompressor(fd: fd, path: layer.path))
        // Stopped before the file closes, on every way out.
        defer { source.close() }
        let reader = try TarEntryReader(source: source)
        let application = try LayerApplication(root: ContainedRoot(path: root.path), privileged: privileged, gate: gate)
        var count = 0
        while let header = try reader.next() {
            if let selection, try !selection.keeps(header) { continue }
            try application.apply(header, reader: reader)
            count += 1
        }
        try application.finishDirectories()
        try source.drain()
        let decoded = source.drained
        return LayerApplyResult(diffID: decoded.diffID, digest: decoded.blobDigest,
                                mediaType: decoded.compression.mediaType, entryCount: count)
    }
}
