import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import KilnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A real directory in the temp folder for the file-operation tests: a build context or a
/// rootfs, with helpers to write and inspect entries.
struct FileOpsTree {
    let root: URL
    var path: String { root.path }

    init(_ name: String = "tree") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-fileops-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    @discardableResult
    func file(_ relative: String, _ content: String, mode: mode_t = 0o644) throws -> URL {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: url)
        chmod(url.path, mode)
        return url
    }

    func directory(_ relative: String, mode: mode_t = 0o755) throws {
        try FileManager.default.createDirectory(at: url(relative), withIntermediateDirectories: true)
        chmod(url(relative).path, mode)
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createDirectory(at: url(relative).deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url(relative).path, withDestinationPath: target)
    }

    func read(_ relative: String) -> String? {
        (try? Data(contentsOf: url(relative))).map { String(decoding: $0, as: UTF8.self) }
    }

    func status(_ relative: String) -> stat? {
        var info = stat()
        return lstat(url(relative).path, &info) == 0 ? info : nil
    }

    func mode(_ relative: String) -> UInt32? { status(relative).map { UInt32($0.st_mode) & 0o7777 } }

    func type(_ relative: String) -> UInt32? { status(relative).map { UInt32($0.st_mode) & UInt32(S_IFMT) } }

    func linkTarget(_ relative: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: url(relative).path)
    }

    func exists(_ relative: String) -> Bool { status(relative) != nil }

    /// Every entry below the root, relative, sorted.
    func listing() -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
        return (enumerator.allObjects as? [String] ?? []).sorted()
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Plans `request` against this tree as the context and applies it to `rootfs`.
    @discardableResult
    func copy(_ request: CopyRequest, into rootfs: FileOpsTree, memo: FileDigestMemo? = nil,
              dockerfile: URL? = nil) async throws -> CopyPlan {
        let scratch = try FileOpsTree("scratch")
        defer { scratch.remove() }
        let context = try BuildContext(directory: root, dockerfile: dockerfile)
        let plan = try await CopyPlanner(scratch: scratch.root, memo: memo).plan(request, from: .context(context))
        try await plan.apply(to: rootfs.root)
        return plan
    }

    /// Only plans `request` against this tree as the context.
    func plan(_ request: CopyRequest, memo: FileDigestMemo? = nil) async throws -> CopyPlan {
        let context = try BuildContext(directory: root, dockerfile: nil)
        return try await CopyPlanner(scratch: root.appendingPathComponent(".scratch-unused"), memo: memo)
            .plan(request, from: .context(context))
    }
}

/// The message of the error `body` throws, or `nil` when it succeeds.
func fileOpsError(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch {
        return "\(error)"
    }
}
