import Foundation
import KilnOCI

extension ExecutionStep {
    /// A step running `arguments` with the image state a RUN sees: the config's `Env`,
    /// `WorkingDir` (`/` when unset) and `User`, plus `buildArguments` (`KEY=value`) for the
    /// args the step uses. An `ENV` of the same name wins over a build arg, as in Docker.
    public init(rootfs: URL, arguments: [String], config: ContainerConfig, buildArguments: [String] = [],
                hostname: String = "kiln", network: NetworkMode = .default, security: SecurityMode = .sandbox,
                entitlements: Set<Entitlement> = [], mounts: [StepMount] = [], extraHosts: [HostEntry] = []) {
        let defined = Set(config.env.map(Self.variableName))
        let environment = config.env + buildArguments.filter { !defined.contains(Self.variableName($0)) }
        let workingDirectory = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        self.init(rootfs: rootfs, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
                  user: config.user ?? "", hostname: hostname, network: network, security: security,
                  entitlements: entitlements, mounts: mounts, extraHosts: extraHosts)
    }

    /// The name of a `KEY=value` pair.
    static func variableName(_ pair: String) -> Substring {
        pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}
