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

    private static let directory: URL = {
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
        let fileManager = FileManager.default
        let root = directory.appendingPathComponent("busybox-rootfs")
        try? fileManager.removeItem(at: directory)
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

        let layout = directory.appendingPathComponent("busybox-layout")
        let result = try KilnBinary.run(
            ["import", root.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "busybox:latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", #"CMD ["sh"]"#],
            environment: ["SOURCE_DATE_EPOCH": epoch])
        guard result.status == 0 else {
            throw FixtureError(description: "kiln import of the busybox tree failed (\(result.status)): \(result.stderr)")
        }
        return BaseImage(rootfs: root, layout: layout, refName: "latest",
                         digest: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
