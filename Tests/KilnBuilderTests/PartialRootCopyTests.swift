import Foundation
import KilnBuilder
import KilnStorage
import KilnTestSupport
import Testing

/// Issue 15, "COPY/ADD never needs a whole materialised root filesystem": on a machine without
/// the snapshots of the layers below, a COPY or ADD reads only the entries it consults from
/// their blobs (``PartialRoot``), and its layer is the one the whole root gives.
@Suite("COPY/ADD on a partial root: nothing unpacked, the whole root's layer", .serialized)
struct PartialRootCopyTests {
    let harness: BuildHarness

    init() throws {
        harness = try BuildHarness()
    }

    /// A base stage whose tree has what a copy's destination can meet (symbolic links to
    /// directories, absolute and relative, an unusual owner and mode, hard links, account
    /// names, a directory replaced after a layer emptied it), and a final stage of copies only.
    static let dockerfile = """
        FROM busybox AS base
        RUN mkdir -p /opt/real/sub /data && chmod 750 /opt/real && chown 7:8 /opt/real \\
            && ln -s /opt/real /opt/link && ln -s real/sub /opt/rel \\
            && echo x > /data/h2 && ln /data/h2 /data/h1 \\
            && printf same > /data/same.txt && chmod 644 /data/same.txt && touch -t 202001020304.05 /data/same.txt \\
            && echo 'app:x:1234:4321::/home/app:/bin/sh' >> /etc/passwd && echo 'grp:x:4321:' >> /etc/group \\
            && mkdir /gone && echo y > /gone/old \\
            && mkdir -p /opt/real/unpacked/x && echo y > /opt/real/unpacked/x/y.txt \\
            && touch -t 202001020304.05 /opt/real/unpacked/x/y.txt
        RUN rm -rf /gone && mkdir /gone && echo z > /gone/new
        FROM base AS final
        COPY src/ /opt/link/
        COPY f.txt /opt/rel/deeper/
        COPY --chown=app:grp f.txt /data/owned
        COPY f.txt /data/h1
        COPY same.txt /data/same.txt
        COPY f.txt /gone/
        ADD archive.tar /opt/link/unpacked/
        """

    private func writeContext() throws {
        let context = harness.context
        let source = context.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("b"), withIntermediateDirectories: true)
        try Data("a\n".utf8).write(to: source.appendingPathComponent("a.txt"))
        try Data("c\n".utf8).write(to: source.appendingPathComponent("b/c.txt"))
        try Data("f\n".utf8).write(to: context.appendingPathComponent("f.txt"))
        let same = context.appendingPathComponent("same.txt")
        try Data("same".utf8).write(to: same)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_577_934_245), .posixPermissions: 0o644],
                                              ofItemAtPath: same.path)
        let members = harness.directory.appendingPathComponent("members")
        try FileManager.default.createDirectory(at: members.appendingPathComponent("x"), withIntermediateDirectories: true)
        // The same file as the base's: a copy that only rewrites it changes nothing.
        let member = members.appendingPathComponent("x/y.txt")
        try Data("y\n".utf8).write(to: member)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_577_934_245), .posixPermissions: 0o644],
                                              ofItemAtPath: member.path)
        _ = try ProcessRunner.checked("tar", ["-cf", context.appendingPathComponent("archive.tar").path, "-C", members.path, "."])
    }

    private func request(noCacheForFinal: Bool) -> BuildRequest {
        var request = harness.request(Self.dockerfile)
        request.sourceDateEpoch = 1_700_000_000
        if noCacheForFinal { request.noCacheFilter = ["final"] }
        return request
    }

    @Test("copies on layers with no snapshots here unpack nothing and give the image the whole root gives")
    func partialRootGivesTheWholeRootsImage() async throws {
        try writeContext()
        // Every copy runs on the working root the base stage's RUN left: the whole root.
        let whole = try await harness.build(request(noCacheForFinal: false))
        #expect(harness.executedSteps.count == 9)

        // The same copies again, on a machine that has the blobs and cache entries but no snapshots.
        try FileManager.default.removeItem(at: harness.root.snapshots)
        let partial = try await harness.build(request(noCacheForFinal: true))
        #expect(harness.executedSteps.count == 7)
        #expect(partial.unpackedLayers == 0)
        #expect(!FileManager.default.fileExists(atPath: harness.root.snapshots.appendingPathComponent("layers").path))
        #expect(harness.leftoverTemporaryFiles.isEmpty)
        #expect(try partial.image.layers().map(\.diffID) == whole.image.layers().map(\.diffID))
        #expect(partial.manifestDigest == whole.manifestDigest)

        // What the image holds, checked by umoci: the copies went where the links lead.
        let rootfs = try await harness.unpack(partial).appendingPathComponent("rootfs")
        func text(_ path: String) -> String? { try? String(contentsOf: rootfs.appendingPathComponent(path), encoding: .utf8) }
        #expect(text("opt/real/a.txt") == "a\n")
        #expect(text("opt/real/b/c.txt") == "c\n")
        #expect(text("opt/real/sub/deeper/f.txt") == "f\n")
        #expect(text("opt/real/unpacked/x/y.txt") == "y\n")
        #expect(text("data/h1") == "f\n")
        #expect(text("data/h2") == "x\n")
        #expect(text("gone/f.txt") == "f\n")
        #expect(text("gone/new") == "z\n")
        #expect(text("gone/old") == nil)
        let owned = try FileManager.default.attributesOfItem(atPath: rootfs.appendingPathComponent("data/owned").path)
        #expect((owned[.ownerAccountID] as? Int) == 1234)
        #expect((owned[.groupOwnerAccountID] as? Int) == 4321)
        let real = try FileManager.default.attributesOfItem(atPath: rootfs.appendingPathComponent("opt/real").path)
        #expect((real[.posixPermissions] as? Int) == 0o750)
        #expect((real[.ownerAccountID] as? Int) == 7)
    }

    @Test("a copy that fails on the partial root fails as on the whole root, naming the line, and leaves nothing behind")
    func failureIsTheWholeRootsFailure() async throws {
        try writeContext()
        let dockerfile = """
            FROM busybox
            COPY src/ /etc/passwd/
            """
        await #expect {
            _ = try await harness.build(dockerfile)
        } throws: { error in
            "\(error)".contains("Dockerfile:2") && "\(error)".contains("cannot copy to non-directory")
        }
        #expect(harness.leftoverTemporaryFiles.isEmpty)
        #expect(harness.cacheEntryCount == 0)
    }

    @Test("a COPY on the busybox base alone unpacks nothing; the RUN after it in a later build unpacks both layers")
    func laterRunUnpacks() async throws {
        try writeContext()
        let copyOnly = try await harness.build("FROM busybox\nCOPY f.txt /usr/share/f.txt\n")
        #expect(copyOnly.unpackedLayers == 0)
        // A stage of copies that another stage of copies starts from: still nothing unpacked.
        let chained = try await harness.build("FROM busybox AS first\nCOPY f.txt /usr/share/f.txt\nFROM first\nCOPY src/ /srv/\n")
        #expect(harness.executedSteps == ["COPY src/ /srv/"])
        #expect(chained.unpackedLayers == 0)
        let withRun = try await harness.build("FROM busybox\nCOPY f.txt /usr/share/f.txt\nRUN cat /usr/share/f.txt /bin/sh > /dev/null\n")
        #expect(harness.executedSteps == ["RUN cat /usr/share/f.txt /bin/sh > /dev/null"])
        #expect(withRun.unpackedLayers == 2)
    }
}
