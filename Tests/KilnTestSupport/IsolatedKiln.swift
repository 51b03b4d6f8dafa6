import Foundation

/// Starts the built `kiln` the way a user of one isolation mode does, on this machine:
/// - `root`: as root on the host;
/// - `rootless`: as the non-root ``TestUser`` with subordinate ids (Kiln enters its own user namespace);
/// - `usernsPod`: as root of a user namespace that maps its 65,536 ids to host ids
///   400000… (what a pod with `hostUsers: false` or a `--userns-remap` container is), made with
///   util-linux's `unshare`;
/// - `chroot`: as root on the host with `--isolation chroot` forced (no container here makes it
///   the detected mode).
/// Each gives a work directory its `kiln` may write, and the flags its machine needs.
public struct IsolatedKiln: Sendable, CustomStringConvertible {
    /// The mode, as `--isolation` names it.
    public let mode: String
    private let user: TestUser?

    /// The host ids a ``usernsPod`` namespace maps its ids 0…65535 to.
    public static let podIDs = (first: 400_000, count: 65_536)

    public var description: String { mode }

    /// Root on the host.
    public static let root = IsolatedKiln(mode: "root", user: nil)
    /// Root of a user namespace of its own.
    public static let usernsPod = IsolatedKiln(mode: "userns-pod", user: nil)
    /// Root on the host, chrooted steps forced.
    public static let chroot = IsolatedKiln(mode: "chroot", user: nil)
    /// The test user with subordinate ids.
    public static func rootless() throws -> IsolatedKiln { IsolatedKiln(mode: "rootless", user: try TestUser.withSubordinateIDs()) }

    /// Whether this machine can start the mode: user namespaces, util-linux and newuidmap
    /// for the two that need one.
    public static func isAvailable(_ mode: String) -> Bool {
        mode == "root" || mode == "chroot" || TestUser.isAvailable
    }

    /// A mode by its name.
    public static func named(_ mode: String) throws -> IsolatedKiln {
        switch mode {
        case "root": return .root
        case "rootless": return try rootless()
        case "userns-pod": return .usernsPod
        default: return .chroot
        }
    }

    /// A new directory this mode's `kiln` may write (and root may read and remove).
    public func workDirectory(_ name: String) throws -> URL {
        if let user { return try user.directory(name) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(mode)-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if mode == "userns-pod" {
            _ = try ProcessRunner.checked("/bin/chown", ["\(Self.podIDs.first):\(Self.podIDs.first)", url.path])
        }
        return url
    }

    /// The flags this mode adds to `kiln build` here. In a user namespace the default network
    /// (slirp4netns) needs `/dev/net/tun`, which this machine gives root alone (mode 0600), so
    /// those builds run with `--network none`; no corpus RUN step needs a network.
    public var buildFlags: [String] {
        switch mode {
        case "rootless", "userns-pod": return Self.tunIsShared ? [] : ["--network", "none"]
        case "chroot": return ["--isolation", "chroot"]
        default: return []
        }
    }

    private static var tunIsShared: Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: "/dev/net/tun"),
              let permissions = attributes[.posixPermissions] as? Int
        else { return false }
        return permissions & 0o006 == 0o006
    }

    /// Runs `kiln arguments…` in this mode with `environment` (e.g. `KILN_ROOT`) in `directory`.
    public func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL) throws -> KilnBinary.Result {
        if let user { return try user.runKiln(arguments, environment: environment, in: directory) }
        guard mode == "userns-pod" else { return try KilnBinary.run(arguments, environment: environment, currentDirectory: directory) }
        try Self.podRangeGranted.get()
        let ids = "\(Self.podIDs.first),0,\(Self.podIDs.count)"
        let env = (["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp"]
            .merging(environment) { $1 }).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try ProcessRunner.run(
            URL(fileURLWithPath: "/usr/bin/unshare"),
            ["--map-users=\(ids)", "--map-groups=\(ids)", "--setuid", "0", "--setgid", "0", "--mount", "--propagation", "private",
             "--", "/usr/bin/env", "-i"] + env + [KilnBinary.url.path] + arguments,
            currentDirectory: directory)
    }

    /// newuidmap applies a mapping only from the caller's own `/etc/subuid` and `/etc/subgid`
    /// ranges: give root the pod's range once (it stays for later runs, as the test users do).
    private static let podRangeGranted: Result<Void, any Error> = Result {
        let range = "\(podIDs.first)-\(podIDs.first + podIDs.count - 1)"
        for (file, flag) in [("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")] {
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
            if !lines.contains("root:\(podIDs.first):\(podIDs.count)") {
                _ = try ProcessRunner.checked("/usr/sbin/usermod", [flag, range, "root"])
            }
        }
    }
}
