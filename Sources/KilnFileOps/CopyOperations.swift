import Foundation
import KilnDockerfile

/// COPY and ADD for the step loop: FileOps' ``CopyPlanner`` behind ``FileOperationPlanner``.
public struct CopyOperations: FileOperationPlanner {
    /// Context file digests by stat, shared by every COPY of a build (and persisted by the caller).
    public let memo: FileDigestMemo?

    /// Operations remembering context digests in `memo`.
    public init(memo: FileDigestMemo? = nil) {
        self.memo = memo
    }

    /// Plans the COPY/ADD of `step`.
    public func plan(_ step: FileOperationStep) async throws -> PlannedFileOperation {
        let root: CopySourceRoot
        switch step.source {
        case .context(let directory, let dockerfile):
            root = .context(try BuildContext(directory: directory, dockerfile: dockerfile))
        case .directory(let directory):
            root = .directory(directory)
        }
        let plan = try await CopyPlanner(scratch: step.scratch, memo: memo).plan(step.request, from: root)
        return PlannedFileOperation(contentDigest: plan.contentDigest, description: plan.description,
                                    sourceFiles: plan.sourceFiles, consultedPaths: plan.consultedPaths) { rootfs in
            try await plan.apply(to: rootfs, reserve: step.reserve)
        }
    }
}
