import KilnDockerfile
import KilnExecutor

/// The network and sandbox a RUN step gets, and the check that a build was allowed them.
extension RunInstruction {
    /// The step's network: its own `--network`, else the build's (`fallback`).
    public func networkMode(default fallback: NetworkMode) -> NetworkMode {
        switch network {
        case .none?: return .none
        case .host?: return .host
        case .default?, nil: return fallback
        }
    }

    /// The step's sandbox: `--security=insecure` or the default one.
    public var securityMode: SecurityMode {
        security == .insecure ? .insecure : .sandbox
    }
}

extension BuildPlan {
    /// Refuses the plan when a RUN step needs an entitlement the request does not grant
    /// (`RUN --network=host`, `RUN --security=insecure`, or `--network host` for the whole
    /// build), naming the Dockerfile line, before anything is fetched or run. The executor
    /// checks again, but by then earlier steps would have run.
    func checkEntitlements(_ request: BuildRequest, sourceLines: [String]) throws {
        if request.network == .host && !request.entitlements.contains(.networkHost) {
            throw BuildError.invalidOption("--network host needs the network.host entitlement: add --allow network.host")
        }
        for stage in stages {
            for resolved in stage.instructions {
                guard case .run(let run) = resolved.instruction else { continue }
                var needed: [(Entitlement, String)] = []
                if run.networkMode(default: request.network) == .host { needed.append((.networkHost, "network")) }
                if run.securityMode == .insecure { needed.append((.securityInsecure, "security")) }
                for (entitlement, flag) in needed where !request.entitlements.contains(entitlement) {
                    let error = DockerfileError(
                        "RUN --\(flag)=\(flag == "network" ? "host" : "insecure") needs the \(entitlement.rawValue) entitlement: "
                            + "build with --allow \(entitlement.rawValue)",
                        at: run.source.location(ofFlag: flag))
                    throw BuildError.dockerfile(error.showingLine(from: sourceLines), fileName: request.dockerfileName)
                }
            }
        }
    }
}
