import Foundation

/// `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` for one step, written into the bundle
/// (outside the rootfs) and bind-mounted over the rootfs paths, so they never land in a layer.
struct GeneratedEtcFiles: Sendable {
    /// The container paths covered.
    static let targets = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"]

    let hosts: String
    let resolvConf: String
    let hostname: String

    /// Contents for `step`; `hostResolvConf` is the builder host's resolver configuration.
    init(step: ExecutionStep, hostResolvConf: String?) {
        var hosts = "127.0.0.1\tlocalhost \(step.hostname)\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        for entry in step.extraHosts { hosts += "\(entry.address)\t\(entry.host)\n" }
        self.hosts = hosts
        self.hostname = step.hostname + "\n"
        let host = hostResolvConf ?? ""
        switch step.network {
        case .host:
            resolvConf = host
        case .none, .default:
            // A private namespace has no route to a host-local resolver. In the sandbox network
            // slirp4netns answers on its resolver address and forwards to the host's resolvers,
            // so it takes the place of the first host-local one.
            var replaced = false
            resolvConf = host.split(whereSeparator: \.isNewline)
                .compactMap { line -> String? in
                    let fields = line.split(whereSeparator: \.isWhitespace)
                    guard fields.first == "nameserver", fields.count > 1,
                          fields[1].hasPrefix("127.") || fields[1] == "::1" else { return String(line) }
                    guard step.network == .default, !replaced else { return nil }
                    replaced = true
                    return "nameserver \(SandboxNetwork.resolverAddress)"
                }
                .map { $0 + "\n" }
                .joined()
        }
    }

    /// The text of the file at container path `target` (one of ``targets``).
    func contents(of target: String) -> String {
        switch target {
        case "/etc/hosts": return hosts
        case "/etc/resolv.conf": return resolvConf
        default: return hostname
        }
    }

    /// Writes the files into `directory` and returns read-only bind mounts over the targets.
    func write(into directory: URL) throws -> [RuntimeSpec.Mount] {
        return try Self.targets.map { target in
            let name = String(target.dropFirst("/etc/".count))
            let text = contents(of: target)
            let file = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: file)
            return RuntimeSpec.Mount(destination: "/etc/\(name)", type: "bind", source: file.path,
                                     options: ["rbind", "rprivate", "ro"])
        }
    }
}
