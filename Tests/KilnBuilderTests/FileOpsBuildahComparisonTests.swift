import Foundation
@testable import KilnBuilder
@testable import KilnFileOps
import KilnTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The same COPY/ADD steps built by Buildah (`bud --format docker`, from scratch) and applied
/// by Kiln's planner to an empty rootfs must leave the same tree: paths, types, modes,
/// owners, symlink targets, contents. Mtimes are left out: Buildah 1.28 does not keep them,
/// Docker and Kiln do.
@Suite("COPY/ADD agree with Buildah")
struct FileOpsBuildahComparisonTests {
    static let buildah = "/usr/bin/buildah"

    @Test("a COPY/ADD-only Dockerfile", .enabled(if: FileManager.default.isExecutableFile(atPath: buildah)))
    func sameTree() async throws {
        let work = try FileOpsTree("buildah")
        defer {
            _ = try? ProcessRunner.run(URL(fileURLWithPath: Self.buildah), storage(work) + ["rmi", "--all", "--force"])
            _ = try? ProcessRunner.run(URL(fileURLWithPath: "/bin/umount"), ["-R", work.url("storage").path])
            work.remove()
        }
        let context = FileOpsTree(existing: work.url("ctx"))
        try context.file("app/main.py", "print('hi')\n", mode: 0o644)
        try context.file("app/run.sh", "#!/bin/sh\n", mode: 0o750)
        try context.directory("app/data", mode: 0o700)
        try context.file("app/data/blob", String(repeating: "x", count: 5000), mode: 0o600)
        try context.symlink("app/current", to: "data/blob")
        #expect(link(context.url("app/data/blob").path, context.url("app/hard").path) == 0)
        try context.file("conf/a.conf", "a")
        try context.file("conf/b.conf", "b")
        try context.file("conf/skip.txt", "s")
        try context.file("payload/etc/motd", "welcome", mode: 0o644)
        try ProcessRunner.checked("tar", ["-czf", context.url("payload.tgz").path, "-C", context.url("payload").path, "."])
        let steps: [(String, CopyRequest)] = [
            ("COPY app /srv/app", CopyRequest(sources: ["app"], destination: "/srv/app")),
            ("COPY conf/*.conf /etc/kiln/", CopyRequest(sources: ["conf/*.conf"], destination: "/etc/kiln/")),
            ("COPY --chmod=0755 conf/a.conf /usr/local/bin/a", CopyRequest(sources: ["conf/a.conf"], destination: "/usr/local/bin/a", chmod: "0755")),
            ("COPY --chown=1000:1000 app/main.py /home/user/", CopyRequest(sources: ["app/main.py"], destination: "/home/user/", chown: "1000:1000")),
            ("WORKDIR /w", nil),
            ("COPY conf/b.conf rel/", CopyRequest(sources: ["conf/b.conf"], destination: "rel/", workingDirectory: "/w")),
            ("ADD payload.tgz /unpacked/", CopyRequest(sources: ["payload.tgz"], destination: "/unpacked/", isAdd: true)),
        ].map { ($0.0, $0.1 ?? CopyRequest(sources: [], destination: "")) }
        try Data(("FROM scratch\n" + steps.map(\.0).joined(separator: "\n") + "\n").utf8).write(to: context.url("Dockerfile"))

        try ProcessRunner.checked(Self.buildah, storage(work) + ["bud", "--isolation", "chroot", "--format", "docker", "-t", "kiln-fileops-compare", context.path])
        let container = try ProcessRunner.checked(Self.buildah, storage(work) + ["from", "kiln-fileops-compare"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let mount = try ProcessRunner.checked(Self.buildah, storage(work) + ["mount", container]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let rootfs = try FileOpsTree("kiln-rootfs")
        defer { rootfs.remove() }
        let planner = CopyPlanner(scratch: work.url("scratch"))
        let buildContext = try BuildContext(directory: context.root, dockerfile: context.url("Dockerfile"))
        for (line, request) in steps where !line.hasPrefix("WORKDIR") {
            try await planner.plan(request, from: .context(buildContext)).apply(to: rootfs.root)
        }
        // Buildah makes the WORKDIR itself; so would the step loop.
        try rootfs.directory("w")
        let theirs = Self.describe(FileOpsTree(existing: URL(fileURLWithPath: mount)))
        let ours = Self.describe(rootfs)
        #expect(ours == theirs)
    }

    private func storage(_ work: FileOpsTree) -> [String] {
        ["--root", work.url("storage").path, "--runroot", work.url("run").path, "--storage-driver", "vfs"]
    }

    /// One line per entry: path, type, mode, owner, symlink target or content digest.
    static func describe(_ tree: FileOpsTree) -> [String] {
        tree.listing().map { path in
            guard let info = tree.status(path) else { return "\(path) ?" }
            let type = UInt32(info.st_mode) & UInt32(S_IFMT)
            var line = "\(path) \(String(UInt32(info.st_mode) & 0o7777, radix: 8)) \(info.st_uid):\(info.st_gid)"
            if type == UInt32(S_IFLNK) { line += " -> \(tree.linkTarget(path) ?? "")" }
            if type == UInt32(S_IFREG) { line += " \(tree.read(path)?.count ?? -1) \(String((tree.read(path) ?? "").prefix(20)))" }
            if type == UInt32(S_IFDIR) { line += " dir" }
            return line
        }
    }
}

extension FileOpsTree {
    /// A tree at an existing (or to-be-made) directory, not a fresh temp folder.
    init(existing root: URL) {
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        self.init(root: root)
    }

    private init(root: URL) {
        self.root = root
    }
}
