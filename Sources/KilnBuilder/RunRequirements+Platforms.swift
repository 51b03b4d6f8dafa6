import KilnDockerfile
import KilnExecutor
import KilnOCI

extension BuildPlan {
    /// The stages that run RUN steps, each with its platform (its `FROM --platform`, else the
    /// build's) and its first RUN: what must be executable here. A stage without RUN needs
    /// no emulator whatever its platform.
    func runPlatforms(_ request: BuildRequest) throws -> [(platform: Platform, firstRun: RunInstruction)] {
        try stages.compactMap { stage in
            let firstRun = stage.instructions.lazy.compactMap { resolved -> RunInstruction? in
                if case .run(let run) = resolved.instruction { return run } else { return nil }
            }.first
            guard let firstRun else { return nil }
            return (try Builder.platform(stage.platform, default: request.platform), firstRun)
        }
    }

    /// Refuses, before any image is pulled, a stage whose RUN steps cannot execute on this
    /// machine (``Emulation/support(for:)``): the error is at the stage's first RUN and names
    /// the platform, why (and how to add an emulator) and the platforms this machine runs.
    func checkRunPlatforms(_ request: BuildRequest, emulation: Emulation,
                           refuse: (String, SourceLocation) -> BuildError) throws {
        for (platform, run) in try runPlatforms(request) {
            guard case .unavailable(let refusal) = emulation.support(for: platform) else { continue }
            throw refuse("RUN cannot execute for platform \(platform.shortDescription) on this machine: \(refusal). "
                + "This machine runs RUN steps for: \(emulation.runnablePlatforms.joined(separator: ", "))",
                run.source.location)
        }
    }

    /// The line telling the user which platforms' RUN steps run under emulation and by which
    /// interpreter; nil when none does.
    func emulationNotice(_ request: BuildRequest, emulation: Emulation = .current) -> String? {
        guard let platforms = try? runPlatforms(request) else { return nil }
        var seen = Set<String>()
        let emulated = platforms.compactMap { platform, _ -> String? in
            guard case .emulated(let handler) = emulation.support(for: platform),
                  seen.insert(platform.shortDescription).inserted else { return nil }
            return "\(platform.shortDescription) by \(handler.interpreter) (binfmt_misc handler \(handler.name))"
        }
        guard !emulated.isEmpty else { return nil }
        return "RUN steps run under QEMU user emulation for " + emulated.joined(separator: "; ")
    }
}
