import Foundation
import KilnOCI

extension CopyPlan {
    /// Copies with more entries than this record no per-file list in their cache entry: the
    /// entry would outgrow the one-manifest lookup it rides in.
    static let sourceFilesLimit = 10_000

    /// Each written path and a short digest of its canonical line (kind, mode, content or link
    /// target), kept in the cache entry so a later miss can name the file that changed; nil
    /// above ``sourceFilesLimit`` entries.
    public var sourceFiles: [String: String]? {
        guard entries.count <= Self.sourceFilesLimit else { return nil }
        var files: [String: String] = [:]
        for entry in entries {
            files[entry.path] = String(Digest.sha256(of: Data(entry.canonicalLine.utf8)).encoded.prefix(16))
        }
        return files
    }
}
