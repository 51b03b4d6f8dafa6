import Foundation
import KilnDockerfile
import KilnExecutor

/// The network and sandbox a RUN step gets, and the check, before a build starts, that it was
/// given what its RUN steps need.
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

extension Mount {
    /// The id a secret mount is given by: `id`, else the target's file name.
    var secretID: String {
        id ?? target.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
    }

    /// The id an ssh mount is given by: `id`, else `default` (BuildKit's).
    var sshID: String {
        id ?? "default"
    }
}

/// Why a secret cannot be what a mount asks of it; the message never quotes the secret.
struct SecretMountError: Error {
    let message: String
}

extension Mount {
    /// The text of secret `id` (from `file`) as the value of environment variable `variable`
    /// (`RUN --mount=type=secret,env=VARIABLE`): it must be UTF-8 without a NUL byte, as
    /// an environment holds text. The error names the secret and the variable, never the
    /// bytes, so a secret cannot leak through it (runc's own error would quote them).
    static func environmentValue(ofSecret id: String, file: URL, variable: String) throws(SecretMountError) -> String {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw SecretMountError(message: "secret \"\(id)\" cannot be read from \(file.path)")
        }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw SecretMountError(message: "secret \"\(id)\" is binary (not UTF-8 text, or it holds a NUL byte), so it cannot be "
                + "the environment variable \(variable); mount it as a file instead (drop env=)")
        }
        return text
    }
}

extension BuildPlan {
    /// Refuses the plan, before anything is fetched or run, when a RUN step needs what the
    /// request does not give: an entitlement (`RUN --network=host`, `RUN --security=insecure`,
    /// or `--network host` for the whole build), a secret or ssh agent mounted with
    /// `required=true`, or a secret mounted as `env=` that cannot be one.
    /// The error names the Dockerfile line and flag. The executor and the mount planner check
    /// again, but by then earlier steps would have run (and been cached).
    ///
    /// In chroot isolation (``Isolation/chroot``) it also refuses what a chrooted step cannot
    /// be given (see ``checkChroot(_:buildNetwork:facts:refuse:)``); `chrootFacts` default to
    /// this process's, read only then.
    ///
    /// A stage whose platform this machine cannot execute (no native CPU, no usable emulator)
    /// is refused at its first RUN (``checkRunPlatforms(_:emulation:refuse:)``); `emulation`
    /// defaults to this process's binfmt_misc handlers.
    func checkRunRequirements(_ request: BuildRequest, sourceLines: [String],
                              chrootFacts: Isolation.Facts? = nil, emulation: Emulation = .current) throws {
        if request.network == .host && !request.entitlements.contains(.networkHost) {
            throw BuildError.invalidOption("--network host needs the network.host entitlement: add --allow network.host")
        }
        func refuse(_ message: String, at location: SourceLocation) -> BuildError {
            .dockerfile(DockerfileError(message, at: location).showingLine(from: sourceLines), fileName: request.dockerfileName)
        }
        try checkRunPlatforms(request, emulation: emulation, refuse: refuse)
        for stage in stages {
            for resolved in stage.instructions {
                guard case .run(let run) = resolved.instruction else { continue }
                if request.isolation == .chroot {
                    try checkChroot(run, buildNetwork: request.network, facts: chrootFacts ?? .current(), refuse: refuse)
                }
                var needed: [(Entitlement, String)] = []
                if run.networkMode(default: request.network) == .host { needed.append((.networkHost, "network")) }
                if run.securityMode == .insecure { needed.append((.securityInsecure, "security")) }
                for (entitlement, flag) in needed where !request.entitlements.contains(entitlement) {
                    throw refuse(
                        "RUN --\(flag)=\(flag == "network" ? "host" : "insecure") needs the \(entitlement.rawValue) entitlement: "
                            + "build with --allow \(entitlement.rawValue)",
                        at: run.source.location(ofFlag: flag))
                }
                for (index, mount) in run.mounts.enumerated()
                where mount.type == .ssh && mount.required && request.sshAgents[mount.sshID] == nil {
                    throw refuse(
                        "ssh agent \"\(mount.sshID)\" is required but was not given: build with --ssh \(mount.sshID)[=SOCKET|KEYFILE]",
                        at: run.source.location(ofFlag: "mount", occurrence: index))
                }
                for (index, mount) in run.mounts.enumerated() where mount.type == .secret {
                    let location = run.source.location(ofFlag: "mount", occurrence: index)
                    guard let file = request.secrets[mount.secretID] else {
                        guard mount.required else { continue }
                        throw refuse(
                            "secret \"\(mount.secretID)\" is required but was not given: build with --secret id=\(mount.secretID),src=FILE",
                            at: location)
                    }
                    if let variable = mount.env {
                        do { _ = try Mount.environmentValue(ofSecret: mount.secretID, file: file, variable: variable) } catch {
                            throw refuse(error.message, at: location)
                        }
                    }
                }
            }
        }
    }
}

extension BuildPlan {
    /// Refuses a RUN that chroot isolation cannot run as written: where the process lacks a
    /// capability a chrooted step needs (``Isolation/Facts/chrootRunRefusal``), and
    /// `--network=none` (there is no network namespace: the step shares the machine's network)
    /// or `--security=insecure`. The error is at the RUN line (at the flag for a flag).
    func checkChroot(_ run: RunInstruction, buildNetwork: NetworkMode, facts: Isolation.Facts,
                     refuse: (String, SourceLocation) -> BuildError) throws {
        if let refusal = facts.chrootRunRefusal {
            throw refuse(refusal, run.source.location)
        }
        if run.networkMode(default: buildNetwork) == NetworkMode.none {
            let flag: Bool
            if case .none? = run.network { flag = true } else { flag = false }
            throw refuse((flag ? "RUN --network=none" : "--network none (the build's default network for this RUN)")
                + " cannot be honoured in chroot isolation: a step gets no network namespace of its own and shares this "
                + "container's network; drop it, or build where namespaces can be made",
                flag ? run.source.location(ofFlag: "network") : run.source.location)
        }
        if run.securityMode == .insecure {
            throw refuse("RUN --security=insecure cannot be honoured in chroot isolation (a step gets no namespace and "
                + "no capability beyond Docker's defaults)", run.source.location(ofFlag: "security"))
        }
    }
}
