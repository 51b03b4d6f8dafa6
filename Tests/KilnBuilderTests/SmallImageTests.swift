import Foundation
import KilnTestSupport
import Testing

/// `kiln build --squash` and `--commit=explicit` (Makisu's `#!COMMIT`), through the `kiln`
/// binary: layer counts and contents read with python's tarfile, trees with `umoci unpack`,
/// steps and keys from the metadata file.
@Suite("small images: --squash and --commit=explicit", .serialized)
struct SmallImageTests {
    let fixture: SmallImageFixture

    init() throws {
        fixture = try SmallImageFixture()
        try fixture.writeContext("config", "setting=1\n")
        try fixture.writeContext("other", "other\n")
    }

    static let squashable = """
        FROM busybox
        RUN mkdir -p /work && echo one > /work/a && echo scratch > /temporary
        RUN echo two > /work/b && rm /temporary && rm /bin/ls
        COPY config /work/c
        CMD ["cat", "/work/a"]
        """

    @Test("--squash: the stage's own layers become one on the base's; a file made and removed is absent, a removed base file is a whiteout; steps stay cached one by one")
    func squash() throws {
        let base = try fixture.baseCounts()
        let plain = try fixture.build(Self.squashable)
        #expect(plain.result.status == 0, "\(plain.result.stderr)")
        let plainImage = try fixture.image(plain)
        #expect(plainImage.layers.count == base.layers + 3)

        let squashed = try fixture.build(Self.squashable, ["--squash"])
        #expect(squashed.result.status == 0, "\(squashed.result.stderr)")
        // The step cache serves the squashed build: squashing is an output transform.
        #expect(squashed.filesystemSteps.map { $0["status"] as? String } == ["cached", "cached", "cached"])
        let image = try fixture.image(squashed)
        #expect(image.layers.count == base.layers + 1)
        #expect(Array(image.layers.prefix(base.layers).map(\.digest)) == Array(plainImage.layers.prefix(base.layers).map(\.digest)))
        let entries = try image.entries(ofLayer: base.layers)
        #expect(entries.contains("work/a") && entries.contains("work/b") && entries.contains("work/c"))
        #expect(entries.contains("bin/.wh.ls"))
        #expect(!entries.contains { $0.contains("temporary") }, "\(entries)")

        // History: every step kept, one of them carries the squashed layer; config otherwise the same.
        #expect(image.createdBy == plainImage.createdBy)
        let own = Array(image.emptyLayerFlags.dropFirst(base.history))
        #expect(own == [true, true, false, true])
        #expect(image.emptyLayerFlags.filter { !$0 }.count == image.layers.count)
        #expect((image.config["config"] as? [String: Any])?["Cmd"] as? [String] == ["cat", "/work/a"])

        let rootfs = try fixture.unpack(squashed)
        #expect(try String(contentsOf: rootfs.appendingPathComponent("work/a"), encoding: .utf8) == "one\n")
        #expect(try String(contentsOf: rootfs.appendingPathComponent("work/c"), encoding: .utf8) == "setting=1\n")
        #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("bin/sh").path))
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("bin/ls").path))
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("temporary").path))

        // The squash is cached too: the same image again.
        let again = try fixture.build(Self.squashable, ["--squash"])
        #expect(try fixture.image(again).layers.map(\.digest) == image.layers.map(\.digest))
    }

    @Test("--squash of a stage FROM scratch gives one layer; of a single-layer stage, the same image as without")
    func squashFromScratch() throws {
        let scratch = try fixture.build("FROM scratch\nCOPY config /a\nCOPY other /b\nCOPY config /c/d\n", ["--squash"])
        #expect(scratch.result.status == 0, "\(scratch.result.stderr)")
        let image = try fixture.image(scratch)
        #expect(image.layers.count == 1)
        #expect(Set(try image.entries(ofLayer: 0)) == ["a", "b", "c", "c/d"])
        #expect(image.emptyLayerFlags == [true, true, false])

        let single = "FROM busybox\nRUN echo x > /x\nCMD [\"true\"]\n"
        let plain = try fixture.build(single)
        let squashed = try fixture.build(single, ["--squash"])
        #expect(try fixture.image(squashed).layers.map(\.digest) == (try fixture.image(plain)).layers.map(\.digest))
    }

    static let explicit = """
        FROM busybox
        RUN mkdir /toolchain && echo cc > /toolchain/cc
        RUN cat /toolchain/cc > /app && rm -rf /toolchain #!COMMIT
        WORKDIR /srv
        COPY config /srv/config #!commit
        ENV MODE=explicit
        RUN echo last > /last
        CMD ["cat", "/app"]
        """

    @Test("--commit=explicit: layers only at #!COMMIT lines and the stage's last step, holding what the steps before changed; marker not in history; a rebuild hits every commit point and runs nothing")
    func explicitCommits() throws {
        let base = try fixture.baseCounts()
        let built = try fixture.build(Self.explicit, ["--commit=explicit"])
        #expect(built.result.status == 0, "\(built.result.stderr)")
        let image = try fixture.image(built)
        #expect(image.layers.count == base.layers + 3)
        #expect(Set(try image.entries(ofLayer: base.layers)) == ["app"])
        #expect(Set(try image.entries(ofLayer: base.layers + 1)) == ["srv", "srv/config"])
        #expect(Set(try image.entries(ofLayer: base.layers + 2)) == ["last"])
        #expect(!image.createdBy.contains { $0.lowercased().contains("#!commit") }, "\(image.createdBy)")
        #expect(image.createdBy.contains("RUN /bin/sh -c cat /toolchain/cc > /app && rm -rf /toolchain # buildkit"))
        #expect(Array(image.emptyLayerFlags.dropFirst(base.history)) == [true, false, true, false, true, false, true])
        #expect(built.filesystemSteps.map { $0["cache"] as? String } == [nil, "miss", nil, "miss", "miss"])

        let rootfs = try fixture.unpack(built)
        #expect(try String(contentsOf: rootfs.appendingPathComponent("app"), encoding: .utf8) == "cc\n")
        #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("toolchain").path))
        #expect(try String(contentsOf: rootfs.appendingPathComponent("srv/config"), encoding: .utf8) == "setting=1\n")

        let rebuilt = try fixture.build(Self.explicit, ["--commit=explicit"])
        #expect(rebuilt.result.status == 0, "\(rebuilt.result.stderr)")
        #expect(rebuilt.filesystemSteps.allSatisfy { $0["status"] as? String == "cached" }, "\(rebuilt.filesystemSteps)")
        #expect(rebuilt.filesystemSteps.map { $0["cache"] as? String } == [nil, "hit", nil, "hit", "hit"])
        #expect(try fixture.image(rebuilt).layers.map(\.digest) == image.layers.map(\.digest))
        // Entries at commit points only.
        #expect(fixture.harness.cacheEntryCount == 3)

        // A change re-runs from the previous commit point: WORKDIR (no layer of its own) runs again with the COPY.
        try fixture.writeContext("config", "setting=2\n")
        let changed = try fixture.build(Self.explicit, ["--commit=explicit"])
        #expect(changed.result.status == 0, "\(changed.result.stderr)")
        #expect(changed.filesystemSteps.map { $0["status"] as? String } == ["cached", "cached", "executed", "executed", "executed"])
        #expect(changed.filesystemSteps.map { $0["cache"] as? String } == [nil, "hit", nil, "miss", "miss"])
        let changedImage = try fixture.image(changed)
        #expect(changedImage.layers.prefix(base.layers + 1).map(\.digest) == image.layers.prefix(base.layers + 1).map(\.digest))
        #expect(Set(try changedImage.entries(ofLayer: base.layers + 1)) == ["srv", "srv/config"])
    }

    @Test("the marker is in no key: the keys of an explicit build equal those of the same steps without markers, and moving only the marker hits")
    func markerIsNotKeyed() throws {
        let marked = try fixture.build(Self.explicit, ["--commit=explicit"])
        #expect(marked.result.status == 0, "\(marked.result.stderr)")
        let unmarked = Self.explicit.replacingOccurrences(of: " #!COMMIT", with: "").replacingOccurrences(of: " #!commit", with: "")
        let plain = try fixture.build(unmarked, root: fixture.harness.directory.appendingPathComponent("other-root"))
        #expect(plain.result.status == 0, "\(plain.result.stderr)")
        let keys = marked.filesystemSteps.map { $0["cacheKey"] as? String }
        #expect(keys.count == 5 && keys.allSatisfy { $0 != nil })
        #expect(keys == plain.filesystemSteps.map { $0["cacheKey"] as? String })

        // The last step is a commit point with or without its marker: adding one changes nothing.
        let last = "FROM busybox\nRUN echo a > /a\nRUN echo b > /b"
        let first = try fixture.build(last, ["--commit=explicit"])
        let second = try fixture.build(last + " #!COMMIT", ["--commit=explicit"])
        #expect(first.result.status == 0 && second.result.status == 0, "\(first.result.stderr)\(second.result.stderr)")
        #expect(first.filesystemSteps.map { $0["cache"] as? String } == [nil, "miss"])
        #expect(second.filesystemSteps.map { $0["cache"] as? String } == [nil, "hit"])
        #expect(try fixture.image(second).layers.map(\.digest) == (try fixture.image(first)).layers.map(\.digest))
    }

    @Test("--commit=explicit: a stage read by a step before the commit point is part of the commit point's basis")
    func groupBasisHoldsEarlierStageInputs() throws {
        let dockerfile = """
            FROM busybox AS a
            RUN cat /proc/sys/kernel/random/uuid > /f
            FROM busybox
            COPY --from=a /f /f
            RUN cat /f > /g
            """
        let first = try fixture.build(dockerfile, ["--commit=explicit"])
        #expect(first.result.status == 0, "\(first.result.stderr)")
        // Stage a runs again and writes other bytes under the same key: the group reading it must miss.
        let second = try fixture.build(dockerfile, ["--commit=explicit", "--no-cache-filter", "a"])
        #expect(second.result.status == 0, "\(second.result.stderr)")
        #expect(second.filesystemSteps.map { $0["cache"] as? String } == ["miss", nil, "miss"])
        let (before, after) = (try fixture.unpack(first), try fixture.unpack(second))
        let written = try String(contentsOf: after.appendingPathComponent("f"), encoding: .utf8)
        #expect(written != (try String(contentsOf: before.appendingPathComponent("f"), encoding: .utf8)))
        #expect(try String(contentsOf: after.appendingPathComponent("g"), encoding: .utf8) == written)
    }

    @Test("a registry cache carries commit points and the squash: a new machine builds the same image and runs nothing",
          .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)))
    func registryCacheOnANewMachine() async throws {
        try await withTestRegistry { registry in
            let flags = ["--commit=explicit", "--squash", "--cache-repo", "\(registry.host)/ci/cache"]
            let machines = ["a", "b"].map { fixture.harness.directory.appendingPathComponent("machine-\($0)") }
            let onA = try fixture.build(Self.explicit, flags, root: machines[0])
            #expect(onA.result.status == 0, "\(onA.result.stderr)")
            let onB = try fixture.build(Self.explicit, flags, root: machines[1])
            #expect(onB.result.status == 0, "\(onB.result.stderr)")
            #expect(onB.filesystemSteps.allSatisfy { $0["status"] as? String == "cached" }, "\(onB.filesystemSteps)")
            #expect(onB.filesystemSteps.map { $0["cache"] as? String } == [nil, "hit", nil, "hit", "hit"])
            #expect(try fixture.image(onB).layers.map(\.digest) == (try fixture.image(onA)).layers.map(\.digest))
        }
    }

    @Test("KILN_ROOTFS=copy (snapshots instead of overlay uppers) gives the same squashed and explicit images")
    func copiedRootfsMatchesOverlay() throws {
        let cases = [(Self.squashable, ["--squash"]), (Self.explicit, ["--commit=explicit"]), (Self.explicit, ["--commit=explicit", "--squash"])]
        for (dockerfile, flags) in cases {
            var digests: [[String]] = []
            for mode in ["overlay", "copy"] {
                let built = try fixture.build(dockerfile, flags, root: fixture.harness.directory.appendingPathComponent("root-\(mode)"),
                                              environment: ["KILN_ROOTFS": mode, "SOURCE_DATE_EPOCH": "1000"])
                #expect(built.result.status == 0, "\(built.result.stderr)")
                digests.append(try fixture.image(built).layers.map(\.digest))
            }
            #expect(digests[0] == digests[1], "\(flags)")
        }
    }

    @Test("without --commit=explicit, #!COMMIT is an ordinary shell comment: every step makes its layer, history keeps the text")
    func markerIsACommentOtherwise() throws {
        let base = try fixture.baseCounts()
        let built = try fixture.build("FROM busybox\nRUN echo hi > /x #!COMMIT\nRUN echo y > /y\n")
        #expect(built.result.status == 0, "\(built.result.stderr)")
        let image = try fixture.image(built)
        #expect(image.layers.count == base.layers + 2)
        #expect(image.createdBy.contains("RUN /bin/sh -c echo hi > /x #!COMMIT # buildkit"))
        let rootfs = try fixture.unpack(built)
        #expect(try String(contentsOf: rootfs.appendingPathComponent("x"), encoding: .utf8) == "hi\n")
    }

    @Test("--commit=bogus is refused before anything is built")
    func bogusCommitMode() throws {
        let built = try fixture.build("FROM busybox\nRUN true\n", ["--commit=bogus"])
        #expect(built.result.status != 0)
        #expect(built.result.stderr.contains("--commit bogus: expected all or explicit"), "\(built.result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: built.layout.path))
    }

    /// A build that installs a toolchain, builds with it and removes it.
    static func toolchainWorkload(commitMarkers: Bool) -> String {
        let marker = commitMarkers ? " #!COMMIT" : ""
        return """
            FROM busybox
            RUN mkdir -p /opt/toolchain && head -c 8000000 /dev/urandom > /opt/toolchain/cc && echo lib > /opt/toolchain/libc.a
            RUN head -c 100000 /opt/toolchain/cc > /app.bin
            RUN rm -rf /opt/toolchain\(marker)
            COPY config /etc/app.conf
            CMD ["/app.bin"]
            """
    }

    @Test("proof: installing build tools, building and removing them gives a smaller image with fewer layers with --squash and with --commit=explicit")
    func proof() throws {
        let base = try fixture.baseCounts()
        let roots = ["plain", "explicit"].map { fixture.harness.directory.appendingPathComponent("root-\($0)") }
        let plain = try fixture.build(Self.toolchainWorkload(commitMarkers: false), root: roots[0])
        let squashed = try fixture.build(Self.toolchainWorkload(commitMarkers: false), ["--squash"], root: roots[0])
        let explicit = try fixture.build(Self.toolchainWorkload(commitMarkers: true), ["--commit=explicit"], root: roots[1])
        for built in [plain, squashed, explicit] { #expect(built.result.status == 0, "\(built.result.stderr)") }
        let (plainImage, squashedImage, explicitImage) = (try fixture.image(plain), try fixture.image(squashed), try fixture.image(explicit))
        #expect(plainImage.layers.count == base.layers + 4)
        #expect(squashedImage.layers.count == base.layers + 1)
        #expect(explicitImage.layers.count == base.layers + 2)
        // The 8 MB toolchain is in the plain image's first layer and in neither of the others.
        #expect(plainImage.size > 8_000_000)
        #expect(squashedImage.size < plainImage.size - 7_000_000)
        #expect(explicitImage.size < plainImage.size - 7_000_000)
        // One cache entry per step (the squash adds its own), one per commit point.
        let entries = roots.map(fixture.cacheEntryCount(root:))
        #expect(entries == [4 + 1, 2])
        print("""
            toolchain workload (busybox base, \(base.layers) layer(s)): \
            plain \(plainImage.layers.count) layers \(plainImage.size) bytes; \
            --squash \(squashedImage.layers.count) layers \(squashedImage.size) bytes; \
            --commit=explicit \(explicitImage.layers.count) layers \(explicitImage.size) bytes; \
            cache entries: plain + squash \(entries[0]), explicit \(entries[1])
            """)
        for built in [squashed, explicit] {
            let rootfs = try fixture.unpack(built)
            #expect(!FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("opt/toolchain").path))
            let app = try FileManager.default.attributesOfItem(atPath: rootfs.appendingPathComponent("app.bin").path)
            #expect((app[.size] as? Int) == 100_000)
        }
    }
}
