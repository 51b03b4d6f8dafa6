import Foundation

/// Base images made once per test run from Debian's busybox-static, so build tests have a
/// small, offline `FROM` image: `/bin/busybox`, a symlink per common applet, `/etc/passwd`,
/// `/etc/group`, `/tmp` and `/root`, imported with the built `kiln import`.
public enum BaseImages {
    /// One imported base image and where its pieces are.
    public struct BaseImage: Sendable {
        /// The root filesystem the image was imported from (do not modify).
        public let rootfs: URL
        /// An OCI layout directory holding the image.
        public let layout: URL
        /// The image's `org.opencontainers.image.ref.name` in ``layout``.
        public let refName: String
        /// The manifest digest `kiln import` printed.
        public let digest: String
        /// `oci:<layout>:<refName>`, the form `kiln inspect` and skopeo take.
        public var ociReference: String { "oci:\(layout.path):\(refName)" }
    }

    /// Why a fixture could not be made.
    public struct FixtureError: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// The applets linked to `/bin/busybox`: enough for shell scripts in RUN steps.
    public static let applets = [
        "sh", "ash", "echo", "cat", "ls", "mkdir", "rm", "rmdir", "cp", "mv", "ln", "touch", "chmod", "chown",
        "test", "[", "true", "false", "env", "id", "pwd", "sleep", "grep", "sed", "head", "tail", "wc", "sort",
        "uname", "whoami", "printf", "stat", "find", "tar", "gzip", "readlink", "dirname", "basename", "date",
    ]

    /// The busybox image, made on first use; later calls in the same run return the same one.
    public static func busybox() throws -> BaseImage {
        try cachedBusybox.get()
    }

    /// SOURCE_DATE_EPOCH for the import: mtimes and `created` are fixed, so the digest only
    /// changes with the busybox package.
    private static let epoch = "0"

    private static let cachedBusybox: Result<BaseImage, any Error> = Result { try makeBusybox() }

    /// The busybox image plus this machine's `git` and `ssh` clients with the shared libraries
    /// they load (found with `ldd`), and a user `app` (1000:1000): enough to clone over ssh in a
    /// RUN step. Made on first use.
    public static func gitAndSSH() throws -> BaseImage {
        try cachedGitAndSSH.get()
    }

    private static let cachedGitAndSSH: Result<BaseImage, any Error> = Result {
        try makeWithHostTools(["/usr/bin/git", "/usr/bin/ssh"], name: "git-ssh")
    }

    private static func makeWithHostTools(_ tools: [String], name: String) throws -> BaseImage {
        let busybox = try busybox()
        let root = directory.appendingPathComponent("\(name)-rootfs")
        try? FileManager.default.removeItem(at: root)
        _ = try ProcessRunner.checked("/bin/cp", ["-a", busybox.rootfs.path, root.path])
        var files = Set(tools)
        for tool in tools {
            let ldd = try ProcessRunner.checked("/usr/bin/ldd", [tool])
            for line in ldd.stdout.split(separator: "\n") {
                // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
                if let path = line.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("/") }) { files.insert(String(path)) }
            }
        }
        for file in files.sorted() {
            let destination = root.appendingPathComponent(String(file.dropFirst()))
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            // -L: libraries are often symlinks; the image gets the file under the linked name.
            _ = try ProcessRunner.checked("/bin/cp", ["-L", file, destination.path])
        }
        let passwd = root.appendingPathComponent("etc/passwd")
        try Data((try String(contentsOf: passwd, encoding: .utf8) + "app:x:1000:1000:app:/home/app:/bin/sh\n").utf8).write(to: passwd)
        let group = root.appendingPathComponent("etc/group")
        try Data((try String(contentsOf: group, encoding: .utf8) + "app:x:1000:\n").utf8).write(to: group)
        let home = root.appendingPathComponent("home/app")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        _ = try ProcessRunner.checked("/bin/chown", ["1000:1000", home.path])

        let layout = directory.appendingPathComponent("\(name)-layout")
        let result = try KilnBinary.run(
            ["import", root.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "\(name):latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            environment: ["SOURCE_DATE_EPOCH": epoch])
        guard result.status == 0 else {
            throw FixtureError(description: "kiln import of the \(name) tree failed (\(result.status)): \(result.stderr)")
        }
        return BaseImage(rootfs: root, layout: layout, refName: "latest",
                         digest: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Where this run's base images are made; removed when the test process exits.
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-base-images-\(ProcessInfo.processInfo.processIdentifier)")
        atexit {
            let url = FileManager.default.temporaryDirectory
                .appendingPathComponent("kiln-base-images-\(ProcessInfo.processInfo.processIdentifier)")
            try? FileManager.default.removeItem(at: url)
        }
        return url
    }()

    private static func makeBusybox() throws -> BaseImage {
        let busybox = URL(fileURLWithPath: "/bin/busybox")
        guard FileManager.default.isExecutableFile(atPath: busybox.path) else {
            throw FixtureError(description: "/bin/busybox is missing: apt-get install busybox-static")
        }
        // The first image made empties the shared folder (left over from an earlier run).
        try? FileManager.default.removeItem(at: directory)
        return try makeBusyboxImage(binary: busybox, name: "busybox", platform: nil)
    }

    /// Lays out the busybox tree around `binary` in `<name>-rootfs` and imports it as
    /// `<name>:latest` for `platform` (nil: this machine's) into `<name>-layout`.
    static func makeBusyboxImage(binary busybox: URL, name: String, platform: String?) throws -> BaseImage {
        let fileManager = FileManager.default
        let root = directory.appendingPathComponent("\(name)-rootfs")
        try? fileManager.removeItem(at: root)
        for path in ["bin", "etc", "tmp", "root"] {
            try fileManager.createDirectory(at: root.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        try fileManager.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: root.appendingPathComponent("tmp").path)
        try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root.appendingPathComponent("root").path)
        try fileManager.copyItem(at: busybox, to: root.appendingPathComponent("bin/busybox"))
        for applet in applets {
            try fileManager.createSymbolicLink(atPath: root.appendingPathComponent("bin/\(applet)").path,
                                               withDestinationPath: "busybox")
        }
        try Data("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n".utf8)
            .write(to: root.appendingPathComponent("etc/passwd"))
        try Data("root:x:0:\nnogroup:x:65534:\n".utf8).write(to: root.appendingPathComponent("etc/group"))

        let layout = directory.appendingPathComponent("\(name)-layout")
        let result = try KilnBinary.run(
            ["import", root.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "\(name):latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", #"CMD ["sh"]"#] + (platform.map { ["--platform", $0] } ?? []),
            environment: ["SOURCE_DATE_EPOCH": epoch])
        guard result.status == 0 else {
            throw FixtureError(description: "kiln import of the \(name) tree failed (\(result.status)): \(result.stderr)")
        }
        return BaseImage(rootfs: root, layout: layout, refName: "latest",
                         digest: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
