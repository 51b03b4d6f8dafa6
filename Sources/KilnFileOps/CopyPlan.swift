import Foundation
import KilnArchive
import KilnOCI
import KilnStorage

/// A planned `COPY`/`ADD`: exactly which entries it writes where, their digest for the
/// step's cache key, and the history text; ``apply(to:)`` writes it into a rootfs.
///
/// The content digest covers what ends up in the layer and nothing of the host: the
/// destination, each entry's path below it, type, permission bits as written (after
/// `--chmod`; the host umask never plays a part since modes are set explicitly), file
/// contents (sha256), symlink targets, hard-link structure, and the `--chown`/`--chmod`
/// strings. Modification times are left out on purpose, as in Docker's and BuildKit's cache:
/// a fresh checkout (new mtimes, same bytes) must hit the cache on every machine. The layer
/// written on a miss still carries the source mtimes, as Docker's does.
public struct CopyPlan: Sendable {
    /// The digest of everything the copy writes (see the type's documentation).
    public var contentDigest: Digest
    /// The history text, as Docker writes it: `file:<hex> in <dest>`, `dir:<hex> in <dest>`
    /// or `multi:<hex> in <dest>`.
    public var description: String
    /// The destination, absolute and clean.
    public let destination: String
    /// Whether the destination is a directory whatever the rootfs holds (trailing `/`,
    /// several sources); otherwise a single file is written *as* the destination unless it is
    /// an existing directory.
    let intoDirectory: Bool
    /// The name a single file takes inside an existing destination directory.
    let fileName: String?
    let entries: [CopyEntry]
    /// `--chown`, resolved against the destination rootfs when applied.
    public let chown: String?
    let chmod: String?
    let scratch: URL

    init(destination: String, intoDirectory: Bool, fileName: String?, entries: [CopyEntry],
         chown: String?, chmod: String?, description: String, scratch: URL) {
        self.destination = destination
        self.intoDirectory = intoDirectory
        self.fileName = fileName
        self.entries = entries
        self.chown = chown
        self.chmod = chmod
        self.scratch = scratch
        self.description = description
        contentDigest = Digest.sha256(of: Data(Self.canonicalLines(
            destination: destination, intoDirectory: intoDirectory, fileName: fileName,
            chown: chown, chmod: chmod, entries: entries).joined().utf8))
    }

    /// The canonical text ``contentDigest`` hashes, a line each (each ends in a newline):
    /// a header, then one line per entry (`file 644 5:a.txt sha256:…`, `symlink 777 1:l
    /// 5:a.txt`, …). Two plans' lines differ exactly where their inputs do, which is what
    /// `--explain-cache` reports ("which file differed").
    public var canonicalLines: [String] {
        Self.canonicalLines(destination: destination, intoDirectory: intoDirectory, fileName: fileName,
                            chown: chown, chmod: chmod, entries: entries)
    }

    private static func canonicalLines(destination: String, intoDirectory: Bool, fileName: String?,
                                       chown: String?, chmod: String?, entries: [CopyEntry]) -> [String] {
        var lines = [
            "kiln-copy v1\n",
            "destination \(CopyEntry.field(destination))\n",
            "into-directory \(intoDirectory)\n",
            "file-name \(CopyEntry.field(fileName ?? ""))\n",
            "chown \(CopyEntry.field(chown ?? ""))\n",
            "chmod \(CopyEntry.field(chmod ?? ""))\n",
        ]
        lines.reserveCapacity(lines.count + entries.count)
        for entry in entries { lines.append(entry.canonicalLine + "\n") }
        return lines
    }

    /// The rootfs paths (relative) whose state decides what ``apply(to:reserve:)`` does: the
    /// destination, each entry's place below it (and the single file's name inside it, when it
    /// is a directory), and `etc/passwd` and `etc/group` when `--chown` names resolve there.
    /// Where symbolic links lead, and an archive's members, show only in what is written.
    public var consultedPaths: Set<String> {
        let destination = String(self.destination.drop { $0 == "/" })
        var paths: Set<String> = [destination]
        func below(_ path: String) -> String {
            destination.isEmpty ? path : path.isEmpty ? destination : destination + "/" + path
        }
        if let fileName { paths.insert(below(fileName)) }
        for entry in entries { paths.insert(below(entry.path)) }
        if chown != nil { paths.formUnion(["etc/passwd", "etc/group"]) }
        paths.remove("")
        return paths
    }

    /// The number of entries (directories, files, links, archives) the copy writes.
    public var entryCount: Int { entries.count }

    /// The same plan with Docker's history text for a source of `kind`.
    func described(kind: String, destination: String) -> CopyPlan {
        var plan = self
        plan.description = "\(kind):\(contentDigest.encoded) in \(destination)"
        return plan
    }

    /// Writes the planned entries into the rootfs at `rootfs`: missing destination
    /// directories are created (0755, owned by the `--chown` owner, else root), every path is resolved inside the rootfs
    /// (symlinks in it are followed but never lead out), files get their planned mode and
    /// mtime and the `--chown` owner (default root:root). Extended attributes are not copied.
    ///
    /// - Throws: ``FileOperationError`` for an unknown `--chown` user or group, a file that
    ///   would replace a directory, or a failed system call.
    /// Cancelling the calling task stops the copy within one entry or chunk, and so does
    /// `reserve` (an archive that expands past it stops with its error).
    public func apply(to rootfs: URL, reserve: DiskReserve = .none) async throws {
        let plan = self
        let gate = reserve.gate(for: rootfs, writing: "copying files")
        try await onOwnThread(closing: gate) {
            var application = try CopyApplication(plan: plan, rootfs: rootfs.standardizedFileURL.path, gate: gate)
            try application.run()
        }
    }
}
