import Foundation

extension Executor {
    /// Runs `step` chrooted into its rootfs (``Backend/chroot``).
    ///
    /// What runc would mount is placed into the rootfs first (``ChrootPlacement``) and taken
    /// out again afterwards, also when the step fails or is cancelled, so the rootfs then holds
    /// only the step's own changes. The step shares the network of the machine Kiln runs on
    /// (its /etc files are those of `--network host`), so `--network=none` cannot be honoured,
    /// nor `--security=insecure`: both are refused.
    func runChrooted(_ step: ExecutionStep, user: ResolvedUser, containerID: String,
                     onOutput: @escaping @Sendable (OutputLine) async -> Void) async throws -> ExecutionResult {
        if step.network == .none { throw ExecutorError.notAvailableInChroot("RUN --network=none (there is no network namespace to give the step)") }
        if step.security == .insecure { throw ExecutorError.notAvailableInChroot("RUN --security=insecure") }
        var shared = step
        shared.network = .host
        let etcFiles = GeneratedEtcFiles(step: shared, hostResolvConf: try? String(contentsOf: hostResolvConf, encoding: .utf8))
        let placement = try await ChrootPlacement.place(MountTargets.targets(for: step), in: step.rootfs, etcFiles: etcFiles)

        var environment = step.environment
        let names = Set(environment.map(ExecutionStep.variableName))
        if !names.contains("PATH") { environment.append("PATH=\(RuntimeSpec.defaultPath)") }
        if !names.contains("HOME") { environment.append("HOME=\(user.home)") }
        let tail = OutputTail(capacity: tailLineCount)
        let outcome: Result<Int32, any Error>
        do {
            outcome = .success(try await ChrootProcess.run(
                rootfs: step.rootfs, arguments: step.arguments, environment: environment,
                workingDirectory: step.workingDirectory, user: user) { line in
                    await tail.append(line)
                    await onOutput(line)
                })
        } catch {
            outcome = .failure(error)
        }
        placement.stepEnded()
        await placement.remove()
        return ExecutionResult(exitStatus: try outcome.get(), lastLines: await tail.snapshot,
                               createdMountTargets: placement.created, movedEntries: placement.moved, containerID: containerID)
    }

    /// Kills the chrooted steps of a build that died without stopping them: every process
    /// whose root directory lies below `scratch`, the dead build's scratch directory (as far
    /// as `/proc/PID/root` may be read: a step that took another user than Kiln's needs
    /// CAP_SYS_PTRACE to be seen).
    public static func killChrootedSteps(below scratch: String) {
        ChrootProcess.killRooted(below: scratch)
    }
}
