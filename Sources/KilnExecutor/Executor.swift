import Foundation

/// Runs RUN steps without a daemon: in an OCI runtime, one throw-away container per step, or
/// chrooted into the step's rootfs where no namespace can be made. Which of the two is
/// ``Backend``, and ``Isolation/executorBackend(runtime:)`` alone decides it.
public struct Executor: Sendable {
    /// How a step is run.
    public enum Backend: Sendable {
        /// A container of an OCI runtime (runc or crun), with namespaces of its own.
        case ociRuntime(OCIRuntime)
        /// Chrooted into the rootfs, in no namespace of its own (``Isolation/chroot``): what the
        /// runtime would mount is placed into the rootfs and taken out again.
        case chroot
    }

    /// How every step is run.
    public let backend: Backend
    /// Where bundles are created; each step gets `<bundleParent>/<containerID>`.
    public let bundleParent: URL
    /// How many output lines ``ExecutionResult/lastLines`` keeps.
    public let tailLineCount: Int
    /// The builder host's resolver configuration, copied into each step's `/etc/resolv.conf`.
    public let hostResolvConf: URL

    /// Creates an executor that runs steps in `runtime`.
    public init(runtime: OCIRuntime,
                bundleParent: URL = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bundles"),
                tailLineCount: Int = 20,
                hostResolvConf: URL = URL(fileURLWithPath: "/etc/resolv.conf")) {
        self.init(backend: .ociRuntime(runtime), bundleParent: bundleParent, tailLineCount: tailLineCount, hostResolvConf: hostResolvConf)
    }

    /// Creates an executor that runs steps as `backend` says.
    public init(backend: Backend,
                bundleParent: URL = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bundles"),
                tailLineCount: Int = 20,
                hostResolvConf: URL = URL(fileURLWithPath: "/etc/resolv.conf")) {
        self.backend = backend
        self.bundleParent = bundleParent
        self.tailLineCount = tailLineCount
        self.hostResolvConf = hostResolvConf
    }

    /// Runs `step` and waits for it, passing every output line to `onOutput` as it arrives.
    ///
    /// The container and its bundle are always removed afterwards, also when the calling
    /// task is cancelled (the CLI turns SIGINT/SIGTERM into cancellation): the container is
    /// killed first, then deleted, and the cancellation is rethrown. A non-zero exit status
    /// is a result, not an error; ``ExecutorError/runtimeFailed(runtime:message:)`` means the
    /// command never ran.
    ///
    /// Mount points missing from the rootfs are created before the run and removed again
    /// afterwards when still empty, so the rootfs then holds only the step's own changes
    /// (a missing working directory is created by the runtime and counts as a change, as in
    /// BuildKit). `onOutput` is called from one task per stream, so stdout and stderr calls
    /// may overlap. `containerID` must be unique among the runtime's containers; the default
    /// is a fresh random id.
    public func run(_ step: ExecutionStep, containerID: String = Executor.newContainerID(),
                    onOutput: @escaping @Sendable (OutputLine) async -> Void = { _ in }) async throws -> ExecutionResult {
        try Task.checkCancellation()
        let missing = step.requiredEntitlements.subtracting(step.entitlements)
        guard missing.isEmpty else { throw ExecutorError.notEntitled(missing.sorted { $0.rawValue < $1.rawValue }) }
        let user = try UserResolver(rootfs: step.rootfs).resolve(step.user)
        switch backend {
        case .ociRuntime(let runtime):
            return try await run(step, in: runtime, user: user, containerID: containerID, onOutput: onOutput)
        case .chroot:
            return try await runChrooted(step, user: user, containerID: containerID, onOutput: onOutput)
        }
    }

    /// Runs `step` in a container of `runtime`.
    private func run(_ step: ExecutionStep, in runtime: OCIRuntime, user: ResolvedUser, containerID: String,
                     onOutput: @escaping @Sendable (OutputLine) async -> Void) async throws -> ExecutionResult {
        guard FileManager.default.isExecutableFile(atPath: runtime.executable.path) else {
            throw ExecutorError.runtimeNotFound(runtime.executable.path)
        }
        let etcFiles = GeneratedEtcFiles(step: step, hostResolvConf: try? String(contentsOf: hostResolvConf, encoding: .utf8))
        let created = try MountTargets.prepare(MountTargets.targets(for: step), in: step.rootfs)
        let bundle: Bundle
        var network: SandboxNetwork?
        do {
            try FileManager.default.createDirectory(at: bundleParent, withIntermediateDirectories: true)
            if step.network == .default {
                // Beside the bundle, not in it: the bundle is written with the namespace's path.
                network = try await SandboxNetwork.create(
                    at: bundleParent.appendingPathComponent("\(containerID).netns"),
                    log: bundleParent.appendingPathComponent("\(containerID).slirp4netns.log"))
            }
            bundle = try Bundle.create(in: bundleParent, id: containerID, makeSpec: { etcMounts in
                RuntimeSpec.forStep(step, user: user, etcFiles: etcMounts, networkNamespace: network?.namespacePath.path)
            }, etcFiles: etcFiles)
        } catch {
            await network?.remove()
            try? FileManager.default.removeItem(at: bundleParent.appendingPathComponent("\(containerID).slirp4netns.log"))
            MountTargets.removeUnused(created, in: step.rootfs)
            throw error
        }

        let tail = OutputTail(capacity: tailLineCount)
        let killer = ContainerKiller(runtime: runtime, id: containerID)
        let outcome: Result<Int32, any Error>
        do {
            let status = try await withTaskCancellationHandler {
                try await runtime.run(bundle: bundle.directory, id: containerID) { line in
                    await tail.append(line)
                    await onOutput(line)
                }
            } onCancel: {
                // The runtime forwards SIGTERM, which a shell as pid 1 ignores; kill the container.
                Task.detached { await killer.kill() }
            }
            outcome = Task.isCancelled ? .failure(CancellationError()) : .success(status)
        } catch {
            outcome = .failure(error)
        }
        await killer.markRunEnded()

        // Cleanup runs outside the (possibly cancelled) task so its commands are not torn down.
        let bundleParent = bundleParent
        let sandbox = network
        let cleanup = await Task.detached { () -> (any Error)? in
            defer {
                bundle.remove()
                try? FileManager.default.removeItem(at: bundleParent.appendingPathComponent("\(containerID).slirp4netns.log"))
            }
            do {
                try await runtime.delete(id: containerID)
                await sandbox?.remove()
                return nil
            } catch {
                await sandbox?.remove()
                return error
            }
        }.value
        // Only now: until the container is deleted its mounts may still sit on these paths.
        MountTargets.removeUnused(created, in: step.rootfs)
        let status = try outcome.get()
        if let cleanup { throw cleanup }
        return ExecutionResult(exitStatus: status, lastLines: await tail.snapshot,
                               createdMountTargets: created, containerID: containerID)
    }

    /// A fresh container id.
    public static func newContainerID() -> String {
        "kiln-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }
}
