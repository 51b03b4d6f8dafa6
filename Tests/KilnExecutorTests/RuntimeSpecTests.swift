import Foundation
@testable import KilnExecutor
import KilnOCI
import Testing

@Suite("Runtime spec for a RUN step")
struct RuntimeSpecTests {
    let rootfs = URL(fileURLWithPath: "/tmp/rootfs")

    func spec(_ step: ExecutionStep, user: ResolvedUser = ResolvedUser(uid: 0, gid: 0, home: "/root")) throws -> [String: Any] {
        let data = try JSONEncoder().encode(RuntimeSpec.forStep(step, user: user, etcFiles: []))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("the process has no terminal, Docker's capabilities and keeps setuid working")
    func process() throws {
        let json = try spec(ExecutionStep(rootfs: rootfs, arguments: ["/bin/sh", "-c", "true"], environment: ["A=1"],
                                          workingDirectory: "/src"))
        let process = try #require(json["process"] as? [String: Any])
        #expect(process["terminal"] as? Bool == false)
        #expect(process["noNewPrivileges"] as? Bool == false)
        #expect(process["cwd"] as? String == "/src")
        #expect(process["env"] as? [String] == ["A=1", "PATH=\(RuntimeSpec.defaultPath)", "HOME=/root"])
        let capabilities = try #require(process["capabilities"] as? [String: [String]])
        // Docker's 14 but CAP_NET_RAW in the default network (raw frames would skip its routes).
        #expect(capabilities["bounding"]?.count == 13)
        #expect(capabilities["bounding"]?.contains("CAP_NET_RAW") == false)
        #expect(capabilities["bounding"]?.contains("CAP_SYS_ADMIN") == false)
        #expect(capabilities["inheritable"] == [])
        let rlimits = try #require(process["rlimits"] as? [[String: Any]])
        #expect(rlimits.first?["type"] as? String == "RLIMIT_NOFILE")
    }

    @Test("none and host networks keep Docker's 14 capabilities; the default network allows unprivileged ping")
    func networkCapabilities() throws {
        for mode in [NetworkMode.none, .host] {
            let process = try #require(try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"], network: mode))["process"] as? [String: Any])
            #expect((process["capabilities"] as? [String: [String]])?["bounding"]?.count == 14)
        }
        let linux = try #require(try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"]))["linux"] as? [String: Any])
        #expect((linux["sysctl"] as? [String: String])?["net.ipv4.ping_group_range"] == "0 2147483647")
    }

    @Test("--security=insecure: every capability this process holds, nothing masked, every device allowed, /sys writable")
    func insecure() throws {
        let json = try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"], security: .insecure))
        let capabilities = try #require((json["process"] as? [String: Any])?["capabilities"] as? [String: [String]])
        #expect(capabilities["bounding"]?.contains("CAP_SYS_ADMIN") == true)
        #expect(capabilities["bounding"] == RuntimeSpec.allCapabilities)
        let linux = try #require(json["linux"] as? [String: Any])
        #expect((linux["maskedPaths"] as? [String]) == [])
        #expect((linux["readonlyPaths"] as? [String]) == [])
        let rules = (linux["resources"] as? [String: Any])?["devices"] as? [[String: Any]]
        #expect(rules?.count == 1 && rules?.first?["allow"] as? Bool == true)
        let mounts = try #require(json["mounts"] as? [[String: Any]])
        let sys = mounts.first { $0["destination"] as? String == "/sys" }
        #expect((sys?["options"] as? [String])?.contains("ro") == false)
    }

    @Test("a step's own PATH and HOME are kept")
    func ownPathAndHome() throws {
        let json = try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"], environment: ["PATH=/opt/bin", "HOME=/h"]))
        let process = try #require(json["process"] as? [String: Any])
        #expect(process["env"] as? [String] == ["PATH=/opt/bin", "HOME=/h"])
    }

    @Test("the user's supplementary groups are passed on")
    func user() throws {
        let json = try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"]),
                            user: ResolvedUser(uid: 1000, gid: 1000, additionalGids: [50]))
        let user = try #require((json["process"] as? [String: Any])?["user"] as? [String: Any])
        #expect(user["uid"] as? Int == 1000)
        #expect(user["additionalGids"] as? [Int] == [50])
    }

    @Test("none and default get a network namespace (default's by path); host does not", arguments: NetworkMode.allCases)
    func namespaces(mode: NetworkMode) throws {
        let json = try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"], network: mode))
        let namespaces = try #require((json["linux"] as? [String: Any])?["namespaces"] as? [[String: String]])
        let types = namespaces.compactMap { $0["type"] }
        #expect(types.starts(with: ["pid", "ipc", "uts", "mount"]))
        #expect(types.contains("network") == (mode != .host))
    }

    @Test("standard mounts come first, then extra mounts with their options")
    func mounts() throws {
        let step = ExecutionStep(rootfs: rootfs, arguments: ["x"], mounts: [
            .bind(source: URL(fileURLWithPath: "/src"), destination: "/ctx", readOnly: true),
            .tmpfs(destination: "/cache", sizeBytes: 1024),
        ])
        let mounts = try #require(json(step)["mounts"] as? [[String: Any]])
        let destinations = mounts.compactMap { $0["destination"] as? String }
        #expect(destinations == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
                                 "/ctx", "/cache"])
        #expect(mounts[7]["options"] as? [String] == ["rbind", "rprivate", "ro"])
        #expect((mounts[8]["options"] as? [String])?.contains("size=1024") == true)
        #expect((mounts[6]["options"] as? [String])?.contains("size=67108864") == true)
    }

    @Test("masked and read-only paths and default devices match Docker")
    func linux() throws {
        let linux = try #require(try spec(ExecutionStep(rootfs: rootfs, arguments: ["x"]))["linux"] as? [String: Any])
        #expect((linux["maskedPaths"] as? [String])?.contains("/proc/kcore") == true)
        #expect((linux["readonlyPaths"] as? [String])?.contains("/proc/sys") == true)
        let devices = (linux["devices"] as? [[String: Any]])?.compactMap { $0["path"] as? String }
        #expect(devices == ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"])
    }

    @Test("resolv.conf keeps host-local nameservers only where the host network is shared; slirp4netns's resolver replaces them in the default network")
    func resolvConf() {
        let host = "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
        let shared = GeneratedEtcFiles(step: ExecutionStep(rootfs: rootfs, arguments: ["x"], network: .host), hostResolvConf: host)
        #expect(shared.resolvConf == host)
        let sandbox = GeneratedEtcFiles(step: ExecutionStep(rootfs: rootfs, arguments: ["x"]), hostResolvConf: host)
        #expect(sandbox.resolvConf == "search example.com\nnameserver 10.0.2.3\nnameserver 10.0.0.2\n")
        let isolated = GeneratedEtcFiles(step: ExecutionStep(rootfs: rootfs, arguments: ["x"], network: .none),
                                         hostResolvConf: host)
        #expect(isolated.resolvConf == "search example.com\nnameserver 10.0.0.2\n")
    }

    private func json(_ step: ExecutionStep) throws -> [String: Any] {
        try spec(step)
    }
}

@Suite("A step from the image config")
struct ExecutionStepConfigTests {
    @Test("ENV, WORKDIR and USER come from the config; ENV wins over a build arg")
    func fromConfig() {
        var config = ContainerConfig()
        config.env = ["PATH=/usr/bin", "MODE=env"]
        config.workingDir = "/src"
        config.user = "app:staff"
        let step = ExecutionStep(rootfs: URL(fileURLWithPath: "/r"), arguments: ["/bin/sh", "-c", "make"],
                                 config: config, buildArguments: ["MODE=arg", "VERSION=1"])
        #expect(step.environment == ["PATH=/usr/bin", "MODE=env", "VERSION=1"])
        #expect(step.workingDirectory == "/src")
        #expect(step.user == "app:staff")
    }

    @Test("an empty config runs as root in /")
    func emptyConfig() {
        let step = ExecutionStep(rootfs: URL(fileURLWithPath: "/r"), arguments: ["true"], config: ContainerConfig())
        #expect(step.workingDirectory == "/")
        #expect(step.user == "")
        #expect(step.environment.isEmpty)
    }
}
