import Foundation
import KilnTestSupport
import Testing

/// A failed `kiln import` says why and leaves nothing behind: no layout, no tar, no temporary
/// file beside the destination or in TMPDIR.
@Suite("kiln import failures")
struct ImportFailureTests {
    /// Runs `kiln import` with a private TMPDIR; returns the result and what TMPDIR held after.
    private func importFailing(_ arguments: [String], in scratch: ScratchDirectory) throws -> (KilnBinary.Result, [String]) {
        let tmp = scratch.path("tmpdir")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let result = try KilnBinary.run(["import"] + arguments, environment: ["TMPDIR": tmp.path])
        #expect(result.status != 0)
        return (result, scratch.entries("tmpdir"))
    }

    @Test("a missing source path")
    func missingSource() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (result, leftovers) = try importFailing(
            [scratch.path("nope").path, "--output", "type=oci,dest=\(scratch.path("out").path)"], in: scratch)
        #expect(result.stderr.contains("cannot import") && result.stderr.contains("No such file"))
        #expect(leftovers.isEmpty)
        #expect(scratch.entries() == ["tmpdir"])
    }

    @Test("a bad --change", arguments: [
        "FROBNICATE now", "EXPOSE http", "USER", "LABEL =x", #"ENV A="unterminated"#,
        // Not metadata: refused, as is more than one instruction in one --change.
        "RUN true", "COPY a /b", "ADD a /b", "FROM scratch", "ARG A=1", "CMD a\nRUN b",
    ])
    func badChange(change: String) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        let (result, leftovers) = try importFailing(
            [tree.path, "--output", "type=docker,dest=\(scratch.path("out.tar").path)", "--change", change], in: scratch)
        #expect(result.stderr.contains("--change"), "\(result.stderr)")
        #expect(leftovers.isEmpty)
        #expect(scratch.entries() == ["rootfs", "tmpdir"])
    }

    @Test("a source that is neither a directory nor a tarball")
    func notATarball() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try Data("not a tar".utf8).write(to: scratch.path("file.txt"))
        let (result, leftovers) = try importFailing(
            [scratch.path("file.txt").path, "--output", "type=oci,dest=\(scratch.path("out").path)"], in: scratch)
        #expect(!result.stderr.isEmpty)
        #expect(leftovers.isEmpty)
        #expect(scratch.entries() == ["file.txt", "tmpdir"])
    }

    @Test("a destination that cannot be written", arguments: ["oci", "docker", "oci-tar"])
    func unwritableDestination(kind: String) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        try Data().write(to: scratch.path("plain-file"))
        let output: String
        switch kind {
        case "oci": output = "type=oci,dest=/proc/kiln-import-test"
        case "docker": output = "type=docker,dest=\(scratch.path("plain-file/out.tar").path)"
        default: output = "type=oci,tar=true,dest=/proc/kiln-import-test.tar"
        }
        let (result, leftovers) = try importFailing([tree.path, "--output", output], in: scratch)
        #expect(result.stderr.contains("Error"), "\(result.stderr)")
        #expect(leftovers.isEmpty)
        #expect(scratch.entries() == ["plain-file", "rootfs", "tmpdir"])
        #expect(!FileManager.default.fileExists(atPath: "/proc/kiln-import-test"))
    }

    @Test("a malformed --output")
    func badOutput() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tree = try scratch.makeTree("rootfs")
        for output in ["type=zip,dest=x", "type=oci", "dest=x", "type=oci,dest=x,colour=blue"] {
            let (result, _) = try importFailing([tree.path, "--output", output], in: scratch)
            #expect(result.stderr.contains("--output"), "\(output): \(result.stderr)")
        }
        #expect(scratch.entries() == ["rootfs", "tmpdir"])
    }
}
