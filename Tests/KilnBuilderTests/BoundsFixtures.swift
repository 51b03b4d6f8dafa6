import Foundation
import KilnStorage
import KilnTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the disk-reserve and cancellation tests share: decompression-bomb images, a small
/// tmpfs to use as Kiln's root, and the list of what a build may leave behind.
enum BoundsFixtures {
    /// A harness whose context holds the file `hello`, for `COPY hello /hello`.
    static func harness() throws -> BuildHarness {
        let harness = try BuildHarness()
        try Data("hello\n".utf8).write(to: harness.context.appendingPathComponent("hello"))
        return harness
    }

    /// `kiln build` arguments for `dockerfile` (written to a file) with busybox as a named
    /// context, `flags`, and, when `output` is set, an OCI layout output.
    static func arguments(_ harness: BuildHarness, _ dockerfile: String, _ flags: [String], output: Bool = true) throws -> [String] {
        let file = harness.directory.appendingPathComponent("\(UUID().uuidString).Dockerfile")
        try Data(dockerfile.utf8).write(to: file)
        let busybox = "busybox=oci-layout://\(harness.base.layout.path):\(harness.base.refName)"
        let destination = output
            ? ["--output", "type=oci,dest=\(harness.directory.appendingPathComponent("out-\(UUID().uuidString)").path)"] : []
        return ["build", "--progress", "plain", "-f", file.path, "--build-context", busybox] + flags + destination + [harness.context.path]
    }

    /// An OCI layout with one image, `bomb`, whose only layer is a gzip decompression bomb.
    struct Bomb {
        /// The layout directory.
        var layout: URL
        /// The layer's blob digest (`sha256:…`), which errors must name.
        var layer: String
        /// `--build-context bomb=oci-layout://…`.
        var contextFlag: [String] { ["--build-context", "bomb=oci-layout://\(layout.path):bomb"] }
    }

    /// `bytes`: one file of `amount` MiB of zeros; `files`: `amount` empty files; `random`:
    /// one file of `amount` MiB of random bytes (a blob as large as what it unpacks to).
    static func bomb(_ kind: String, _ amount: Int, in directory: URL) throws -> Bomb {
        let script = Conformance.packageRoot.appendingPathComponent("Tests/KilnBuilderTests/Fixtures/bombs/bomb_layout.py")
        let layout = directory.appendingPathComponent("bomb-\(kind)-\(amount)")
        let output = try ProcessRunner.checked("python3", [script.path, layout.path, kind, String(amount)]).stdout
        let summary = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return Bomb(layout: layout, layer: try #require(summary?["layer"] as? String))
    }

    /// A tmpfs mounted at `path` (created) with `options` (`size=…,nr_inodes=…`), so a test can
    /// fill a filesystem without touching the host's.
    final class Tmpfs {
        let path: URL

        init(at path: URL, options: String) throws {
            self.path = path
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            try ProcessRunner.checked("mount", ["-t", "tmpfs", "-o", "mode=0700,\(options)", "tmpfs", path.path])
        }

        /// Bytes in use.
        var usedBytes: UInt64 {
            var info = statvfs()
            guard statvfs(path.path, &info) == 0 else { return .max }
            return UInt64(info.f_blocks - info.f_bfree) * UInt64(info.f_frsize)
        }

        deinit {
            umount2(path.path, Int32(MNT_DETACH))
        }
    }

    /// The temp directories of snapshots being unpacked: layer snapshots (`snapshots/layers/.tmp-…`,
    /// the layer's files under `fs/`) and whole chains (`snapshots/.tmp-…`).
    static func temporarySnapshots(_ root: KilnRoot) -> [URL] {
        [root.snapshots.appendingPathComponent("layers"), root.snapshots].flatMap { parent in
            ((try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []).filter { $0.hasPrefix(".tmp-") }
                .map { parent.appendingPathComponent($0) }
        }
    }

    /// What a finished build must not leave under `root`: scratch directories, temp snapshot
    /// directories, ingest temp files, ownership records, mounts and runtime containers.
    static func leftovers(_ root: KilnRoot) -> [String] {
        func names(_ url: URL) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] }
        var found: [String] = []
        found += names(root.tmp).filter { $0.hasPrefix("build-") }.map { "tmp/\($0)" }
        found += temporarySnapshots(root).map { "snapshots/" + $0.path.dropFirst(root.snapshots.path.count + 1) }
        found += names(root.blobs.appendingPathComponent("ingest")).map { "blobs/ingest/\($0)" }
        found += names(root.owners).filter { $0.hasSuffix(".json") }.map { "owners/\($0)" }
        let mounts = (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
        found += mounts.filter { $0.hasPrefix(root.url.path + "/") }.map { "mount \($0)" }
        let state = root.url.appendingPathComponent("runtime").path
        if FileManager.default.fileExists(atPath: state),
           let list = try? ProcessRunner.checked("runc", ["--root", state, "list", "-q"]).stdout {
            found += list.split(separator: "\n").map { "container \($0)" }
        }
        return found
    }

    /// Sends `signal` to the build and waits up to `bound` for it to exit; returns how long it
    /// took (nil when it did not exit: it is then killed).
    static func signal(_ build: BackgroundBuild, _ signal: Int32, bound: Duration = .seconds(20)) -> Duration? {
        let sent = ContinuousClock.now
        kill(build.process.processIdentifier, signal)
        while build.process.isRunning {
            if ContinuousClock.now - sent > bound {
                kill(build.process.processIdentifier, SIGKILL)
                build.process.waitUntilExit()
                return nil
            }
            usleep(10_000)
        }
        return ContinuousClock.now - sent
    }
}
