import Foundation

/// A non-root user of this machine for tests that run `kiln` as one (rootless isolation):
/// made once with `useradd` if missing, with or without a range in `/etc/subuid` and
/// `/etc/subgid`. The tests run as root, so they may add users; the users stay for later runs.
public struct TestUser: Sendable {
    /// The login name.
    public let name: String
    /// Its uid and gid.
    public let uid: UInt32
    public let gid: UInt32
    /// Its home directory.
    public let home: URL

    /// A user with 65,536 subordinate uids and gids (`kiln-rootless`).
    public static func withSubordinateIDs() throws -> TestUser {
        try make(name: "kiln-rootless", subordinateStart: 300_000)
    }

    /// A user with none (`kiln-single`): Kiln can map only its own id.
    public static func withoutSubordinateIDs() throws -> TestUser {
        try make(name: "kiln-single", subordinateStart: nil)
    }

    /// Whether this machine can run the rootless tests: root (to make the users), util-linux's
    /// `unshare`, `newuidmap` and user namespaces.
    public static var isAvailable: Bool {
        geteuid() == 0 && ["/usr/bin/unshare", "/usr/bin/newuidmap", "/usr/sbin/useradd", "/usr/bin/setpriv"]
            .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
            && ((try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0) > 0
    }

    private static func make(name: String, subordinateStart: Int?) throws -> TestUser {
        if (try? ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/id"), ["-u", name]))?.status != 0 {
            // No automatic subordinate ranges: this fixture decides them.
            _ = try ProcessRunner.checked("/usr/sbin/useradd", ["--create-home", "--shell", "/bin/sh",
                                                                "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name])
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
            let ranges = lines.filter { $0.hasPrefix("\(name):") }.map { $0.split(separator: ":") }
            if let start = subordinateStart, ranges.isEmpty {
                let flag = file == "/etc/subuid" ? "--add-subuids" : "--add-subgids"
                _ = try ProcessRunner.checked("/usr/sbin/usermod", [flag, "\(start)-\(start + 65_535)", name])
            } else if subordinateStart == nil {
                for range in ranges where range.count == 3 {
                    let first = Int(range[1]) ?? 0
                    let flag = file == "/etc/subuid" ? "--del-subuids" : "--del-subgids"
                    _ = try ProcessRunner.checked("/usr/sbin/usermod", [flag, "\(first)-\(first + (Int(range[2]) ?? 1) - 1)", name])
                }
            }
        }
        let uid = try ProcessRunner.checked("/usr/bin/id", ["-u", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let gid = try ProcessRunner.checked("/usr/bin/id", ["-g", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return TestUser(name: name, uid: UInt32(uid)!, gid: UInt32(gid)!, home: URL(fileURLWithPath: "/home/\(name)"))
    }

    /// A new directory owned by the user.
    public func directory(_ name: String) throws -> URL {
        let url = home.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        _ = try ProcessRunner.checked("/bin/chown", ["\(uid):\(gid)", url.path])
        return url
    }

    /// Runs the built `kiln` as this user with `environment` added to a minimal one.
    public func runKiln(_ arguments: [String], environment: [String: String] = [:], in directory: URL) throws -> KilnBinary.Result {
        var variables = ["HOME": home.path, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "USER": name]
        variables.merge(environment) { $1 }
        let env = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try ProcessRunner.run(
            URL(fileURLWithPath: "/usr/bin/setpriv"),
            ["--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--", "/usr/bin/env", "-i"] + env + [KilnBinary.url.path] + arguments,
            currentDirectory: directory)
    }
}
