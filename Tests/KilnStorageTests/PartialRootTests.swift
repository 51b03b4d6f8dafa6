import Foundation
import Glibc
import KilnArchive
import KilnOCI
import KilnTestSupport
import Testing
@testable import KilnStorage

/// `PartialRoot`: of a chain of layers, the tree's shape and the chosen entries, read from the
/// blobs, and an exact account of where its state is the whole root's.
@Suite struct PartialRootTests {
    /// Two layers written by Python's `tarfile` in the order given (so a hard link follows its
    /// target), as plain tar blobs with their diffIDs.
    private static func layers(in directory: URL) throws -> [LayerReference] {
        let script = """
            import io, sys, tarfile
            def layer(path, entries):
                with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
                    for name, kind, value in entries:
                        info = tarfile.TarInfo(name)
                        info.mtime = 1600000000
                        if kind == "dir":
                            info.type = tarfile.DIRTYPE; info.mode = 0o755; tar.addfile(info)
                        elif kind == "file":
                            data = value.encode(); info.size = len(data); info.mode = 0o644
                            tar.addfile(info, io.BytesIO(data))
                        elif kind == "link":
                            info.type = tarfile.LNKTYPE; info.linkname = value; tar.addfile(info)
                        elif kind == "symlink":
                            info.type = tarfile.SYMTYPE; info.linkname = value; tar.addfile(info)
            layer(sys.argv[1], [("usr", "dir", ""), ("usr/lib", "dir", ""), ("usr/lib/big", "file", "content"),
                                ("usr/lib/other", "file", "x"), ("usr/bin", "dir", ""), ("usr/bin/tool", "link", "usr/lib/big"),
                                ("bin", "symlink", "usr/bin"), ("etc", "dir", ""), ("etc/passwd", "file", "root:x:0:0::/root:/bin/sh\\n")])
            layer(sys.argv[2], [("usr", "dir", ""), ("usr/lib", "dir", ""), ("usr/lib/.wh.other", "file", ""),
                                ("etc", "dir", ""), ("etc/passwd", "file", "root:x:0:0::/root:/bin/sh\\napp:x:7:7::/:/bin/sh\\n")])
            """
        let bottom = directory.appendingPathComponent("bottom.tar"), top = directory.appendingPathComponent("top.tar")
        _ = try ProcessRunner.checked("python3", ["-c", script, bottom.path, top.path])
        return try [bottom, top].map { blob in
            LayerReference(blob: blob, diffID: Digest.sha256(of: try Data(contentsOf: blob)))
        }
    }

    @Test("the shape is whole, only chosen files are there, and a chosen hard link brings its target")
    func chosenEntriesAndShape() async throws {
        try await withTemporaryDirectory { directory in
            let layers = try Self.layers(in: directory)
            let store = ContentStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
            let root = try #require(try await PartialRoot.make(layers, consulting: ["usr/bin/tool", "etc/passwd"], store: store,
                                                                scratch: directory.appendingPathComponent("scratch")))
            defer { root.release() }
            let path = root.directory.path
            // The hard link's target was left out at first, so it was chosen and read again.
            #expect(try String(contentsOfFile: path + "/usr/bin/tool", encoding: .utf8) == "content")
            var tool = stat(), big = stat()
            #expect(lstat(path + "/usr/bin/tool", &tool) == 0 && lstat(path + "/usr/lib/big", &big) == 0 && tool.st_ino == big.st_ino)
            // The top layer's passwd, and the whiteout applied.
            #expect(try String(contentsOfFile: path + "/etc/passwd", encoding: .utf8).contains("app:x:7:7"))
            #expect(!FileManager.default.fileExists(atPath: path + "/usr/lib/other"))
            // The tree's shape is whole: the symbolic link resolves as in the whole root.
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path + "/bin") == "usr/bin")
            #expect(root.resolved("bin/tool") == "usr/bin/tool")

            // What is certain and what is not.
            #expect(root.covers("usr/bin/tool"))
            #expect(root.covers("usr/lib/new-file"))  // no entry there: certainly absent
            #expect(!root.covers("usr/lib/other"))  // left out, whatever the whiteout did after
            #expect(root.notCovered(resolving: ["bin/tool", "usr/lib/other", "bin/new"]) == ["usr/lib/other"])

            // Widening chooses the file and reads it from the blobs.
            let wider = try #require(try await root.widened(by: ["usr/lib/other"]))
            defer { wider.release() }
            #expect(wider.covers("usr/lib/other"))
            #expect(!FileManager.default.fileExists(atPath: wider.directory.path + "/usr/lib/other"))
        }
    }

    @Test("a blob that is not its diffID is refused, and nothing is left in the scratch directory")
    func wrongDiffIDIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            var layers = try Self.layers(in: directory)
            layers[1].diffID = layers[0].diffID
            let store = ContentStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
            let scratch = directory.appendingPathComponent("scratch")
            await #expect(throws: StorageError.self) {
                _ = try await PartialRoot.make(layers, consulting: ["etc/passwd"], store: store, scratch: scratch)
            }
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []).isEmpty)
        }
    }
}
