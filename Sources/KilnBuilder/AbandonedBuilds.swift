import Foundation
import KilnExecutor
import KilnStorage

/// What builds that died without cleaning up (SIGKILL, a crash, a power cut) left on a root.
public enum AbandonedBuilds {
    /// Reclaims the leftovers of every dead build on `root` (see ``BuildOwnership``): their
    /// chrooted steps killed, their runtime containers force-deleted (killed first), then their mounts, scratch
    /// directories and ingest temp files removed. Builds still running are left alone.
    /// Every build does this when it starts, and so does `kiln cache prune`.
    @discardableResult
    public static func reclaim(root: KilnRoot) async throws -> [OwnershipRecord] {
        try await BuildOwnership.reclaimAbandoned(root: root) { record in
            // Chroot isolation: no container holds a step, its processes do.
            Executor.killChrootedSteps(below: record.scratch)
            guard let executable = record.runtime else { return }
            let runtime = OCIRuntime(executable: URL(fileURLWithPath: executable),
                                     stateDirectory: URL(fileURLWithPath: record.runtimeState))
            for container in (try? await runtime.containers()) ?? [] where container.bundle.hasPrefix(record.scratch + "/") {
                try? await runtime.delete(id: container.id)
            }
        }
    }
}
