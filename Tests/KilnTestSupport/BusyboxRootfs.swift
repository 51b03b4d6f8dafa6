import Foundation

/// A minimal Linux rootfs made from Debian's static busybox (`busybox-static`), for tests that
/// run real containers. The template is built once per test run; each test gets its own copy.
public enum BusyboxRootfs {
    /// The static busybox binary, if installed.
    public static let busybox: URL? = ["/bin/busybox", "/usr/bin/busybox"]
        .map(URL.init(fileURLWithPath:))
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// The applets linked into `/bin`.
    public static let applets = [
        "sh", "echo", "cat", "id", "ls", "ip", "hostname", "wget", "sleep", "touch", "mkdir", "rm",
        "env", "pwd", "test", "true", "false", "grep", "stat", "mount", "printf", "seq", "wc",
    ]

    /// `/etc/passwd`: root, nobody and `app` (1000:1000).
    public static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false
        app:x:1000:1000:app:/home/app:/bin/sh

        """

    /// `/etc/group`: `app` is also in `staff` (50) and `builders` (2000).
    public static let group = """
        root:x:0:
        staff:x:50:app
        nobody:x:65534:
        app:x:1000:
        builders:x:2000:other,app

        """

    /// The image's own `/etc/hosts`, which a step must never change.
    public static let imageHosts = "# hosts from the image\n"
    /// The image's own `/etc/resolv.conf`, which a step must never change.
    public static let imageResolvConf = "# resolv.conf from the image\n"

    // Set once while the template is built, read by the exit handler that removes it.
    nonisolated(unsafe) private static var templatePath: String?

    private static let template: Result<URL, any Error> = Result {
        guard let busybox else { throw MissingBusybox() }
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-busybox-template-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: root)
        templatePath = root.path
        atexit { if let path = BusyboxRootfs.templatePath { try? FileManager.default.removeItem(atPath: path) } }
        let fm = FileManager.default
        for directory in ["bin", "etc", "root", "home/app", "tmp", "work"] {
            try fm.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: root.appendingPathComponent("tmp").path)
        try fm.setAttributes([.ownerAccountID: 1000, .groupOwnerAccountID: 1000],
                             ofItemAtPath: root.appendingPathComponent("home/app").path)
        try fm.copyItem(at: busybox, to: root.appendingPathComponent("bin/busybox"))
        for applet in applets {
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("bin/\(applet)").path,
                                      withDestinationPath: "busybox")
        }
        let files = ["passwd": passwd, "group": group, "hosts": imageHosts, "resolv.conf": imageResolvConf]
        for (name, text) in files {
            try Data(text.utf8).write(to: root.appendingPathComponent("etc/\(name)"))
        }
        return root
    }

    /// A fresh copy of the template in a new temporary directory; the caller removes it.
    public static func make() throws -> URL {
        let template = try template.get()
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-busybox-\(UUID().uuidString)")
        // `cp -a` keeps the symlinks, modes and owners exactly; Foundation's copy does not keep owners.
        try ProcessRunner.checked(URL(fileURLWithPath: "/bin/cp"), ["-a", template.path, copy.path])
        return copy
    }

    /// Thrown when busybox-static is not installed.
    public struct MissingBusybox: Error, CustomStringConvertible {
        /// The fix.
        public var description: String { "busybox is not installed: apt-get install busybox-static" }
    }
}
