import Foundation
import KilnOCI
@testable import KilnBuilder
@testable import KilnFileOps
import KilnTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("COPY/ADD content digests and the digest memo")
struct FileOpsDigestTests {
    private func sampleTree() throws -> FileOpsTree {
        let tree = try FileOpsTree("digest")
        try tree.file("src/a.txt", "alpha", mode: 0o644)
        try tree.file("src/bin/run", "#!/bin/sh\n", mode: 0o755)
        try tree.directory("src/empty", mode: 0o750)
        try tree.symlink("src/link", to: "a.txt")
        return tree
    }

    @Test("the same tree copied under another umask, with new mtimes, has the same digest")
    func hostIndependent() async throws {
        let first = try sampleTree()
        defer { first.remove() }
        let second = try FileOpsTree("digest-copy")
        defer { second.remove() }
        // cp under umask 077 without preserving times: same modes (kept explicitly), new mtimes.
        try ProcessRunner.checked("sh", ["-c", "umask 077 && sleep 0.01 && cp -r --preserve=mode,links \(first.path)/src \(second.path)/src"])
        #expect(first.status("src/a.txt")?.st_mtim.tv_nsec != second.status("src/a.txt")?.st_mtim.tv_nsec)
        let request = CopyRequest(sources: ["src"], destination: "/app/")
        let a = try await first.plan(request), b = try await second.plan(request)
        #expect(a.contentDigest == b.contentDigest)
        // --link changes which layer the caller writes, not what is copied.
        var linked = request
        linked.link = true
        #expect(try await first.plan(linked).contentDigest == a.contentDigest)
        #expect(a.entryCount == 5)  // a.txt, bin, bin/run, empty, link
    }

    @Test("a changed byte, mode, symlink target, chmod or chown changes the digest")
    func sensitive() async throws {
        let tree = try sampleTree()
        defer { tree.remove() }
        let request = CopyRequest(sources: ["src"], destination: "/app/")
        var seen: Set<String> = [try await tree.plan(request).contentDigest.description]
        func record(_ plan: CopyPlan) { #expect(seen.insert(plan.contentDigest.description).inserted) }
        let before = try await tree.plan(request)
        try tree.file("src/a.txt", "alphb", mode: 0o644)
        let after = try await tree.plan(request)
        record(after)
        // The canonical lines say which file differed.
        let changed = Set(after.canonicalLines).subtracting(before.canonicalLines)
        #expect(changed.count == 1 && changed.first?.hasPrefix("file 644 5:a.txt sha256:") == true)
        chmod(tree.url("src/a.txt").path, 0o600)
        record(try await tree.plan(request))
        try FileManager.default.removeItem(at: tree.url("src/link"))
        try tree.symlink("src/link", to: "bin/run")
        record(try await tree.plan(request))
        record(try await tree.plan(CopyRequest(sources: ["src"], destination: "/app/", chmod: "755")))
        record(try await tree.plan(CopyRequest(sources: ["src"], destination: "/app/", chown: "1:1")))
        record(try await tree.plan(CopyRequest(sources: ["src"], destination: "/other/")))
        try tree.file("src/new", "")
        record(try await tree.plan(request))
    }

    @Test("an unchanged context is not read again, also through a reopened memo; a touched file is")
    func memo() async throws {
        let tree = try FileOpsTree("memo")
        defer { tree.remove() }
        // 200 MB in 20 files of 10 MB.
        let block = Data(repeating: 0x6b, count: 1 << 20)
        for i in 0..<20 {
            let url = tree.url("big/f\(i)")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
            let handle = try FileHandle(forWritingTo: url)
            for _ in 0..<10 { try handle.write(contentsOf: block) }
            try handle.close()
        }
        let memoFile = tree.url(".state/context-digests")
        let request = CopyRequest(sources: ["big"], destination: "/data/")
        let memo = FileDigestMemo(file: memoFile)
        // Files changed within the racy window of being hashed are not remembered.
        try await Task.sleep(for: .milliseconds(1_100))
        let cold = try await tree.plan(request, memo: memo)
        #expect(await memo.misses == 20)
        #expect(await memo.hits == 0)
        let warm = try await tree.plan(request, memo: memo)
        #expect(await memo.misses == 20)
        #expect(await memo.hits == 20)
        #expect(cold.contentDigest == warm.contentDigest)

        let reopened = FileDigestMemo(file: memoFile)
        #expect(await reopened.count == 20)
        let again = try await tree.plan(request, memo: reopened)
        #expect(await reopened.hits == 20)
        #expect(await reopened.misses == 0)
        #expect(again.contentDigest == cold.contentDigest)

        // Same size, new bytes: the mtime/ctime change makes the memo read it again.
        let handle = try FileHandle(forWritingTo: tree.url("big/f3"))
        try handle.write(contentsOf: Data("changed".utf8))
        try handle.close()
        let changed = try await tree.plan(request, memo: reopened)
        #expect(await reopened.misses == 1)
        #expect(changed.contentDigest != cold.contentDigest)
    }

    @Test("racy clean: a digest taken within a second of the file's last change is not remembered")
    func racyClean() async throws {
        let tree = try FileOpsTree("memo-racy")
        defer { tree.remove() }
        let memo = FileDigestMemo(file: tree.url(".state/context-digests"))
        let digest = Digest.sha256(of: Data("x".utf8))
        let changed: Int64 = 1_700_000_000_000_000_000
        func stamp(_ path: String) -> FileDigestMemo.Stamp {
            FileDigestMemo.Stamp(size: 1, mtimeNanoseconds: changed, ctimeNanoseconds: changed, inode: 1)
        }
        // Hashed 0.2 s after the change: another change in the same clock tick could keep the
        // stamp, so the digest is not trusted later.
        await memo.remember(digest, of: "racy", stamp: stamp("racy"), hashedAt: changed + 200_000_000)
        #expect(await memo.digest(of: "racy", stamp: stamp("racy")) == nil)
        // Hashed 2 s after: safe to remember.
        await memo.remember(digest, of: "settled", stamp: stamp("settled"), hashedAt: changed + 2_000_000_000)
        #expect(await memo.digest(of: "settled", stamp: stamp("settled")) == digest)
        #expect(await memo.count == 1)
        // Through the planner: a file just written is hashed again, so a same-size rewrite counts.
        try tree.file("f", "one")
        let request = CopyRequest(sources: ["f"], destination: "/f")
        let first = try await tree.plan(request, memo: memo)
        try tree.file("f", "two")
        #expect(try await tree.plan(request, memo: memo).contentDigest != first.contentDigest)
    }

    @Test("a COPY writes exactly what its key hashed: a source changed after planning fails the step")
    func copyWhatWasHashed() async throws {
        let tree = try FileOpsTree("copy-verify")
        defer { tree.remove() }
        try tree.file("src/a.txt", "planned content")
        try tree.file("src/b.txt", "unchanged")
        let plan = try await tree.plan(CopyRequest(sources: ["src"], destination: "/app/"))
        try tree.file("src/a.txt", "edited during the build")
        let rootfs = try FileOpsTree("copy-verify-rootfs")
        defer { rootfs.remove() }
        let message = await fileOpsError { try await plan.apply(to: rootfs.root) }
        #expect(message?.contains("context changed during the build: a.txt") == true, "\(message ?? "no error")")
        // Unchanged sources copy as planned.
        let intact = try await tree.plan(CopyRequest(sources: ["src/b.txt"], destination: "/b.txt"))
        try await intact.apply(to: rootfs.root)
        #expect(try String(contentsOf: rootfs.url("b.txt"), encoding: .utf8) == "unchanged")
    }

    @Test("a corrupt memo file starts empty and is rewritten")
    func corruptMemo() async throws {
        let tree = try FileOpsTree("memo-corrupt")
        defer { tree.remove() }
        try tree.file("f", "x")
        try tree.file("memo", "garbage\nmore garbage")
        let memo = FileDigestMemo(file: tree.url("memo"))
        #expect(await memo.count == 0)
        try await Task.sleep(for: .milliseconds(1_100))  // past the racy window of f's creation
        _ = try await tree.plan(CopyRequest(sources: ["f"], destination: "/"), memo: memo)
        #expect(await FileDigestMemo(file: tree.url("memo")).count == 1)
    }
}
