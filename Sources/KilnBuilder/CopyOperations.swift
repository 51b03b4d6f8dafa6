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

    /// Plans the COPY/ADD of `step` with its expanded flags.
    public func plan(_ step: FileOperationStep) async throws -> PlannedFileOperation {
        let request: CopyRequest
        switch step.instruction {
        case .copy(let copy):
            request = CopyRequest(
                sources: copy.files.paths, inlineFiles: copy.files.inlineFiles, destination: copy.files.destination,
                workingDirectory: step.workingDirectory, chown: copy.chown, chmod: copy.chmod, excludes: copy.excludes,
                parents: copy.parents, link: copy.link)
        case .add(let add):
            request = CopyRequest(
                sources: add.files.paths, inlineFiles: add.files.inlineFiles, destination: add.files.destination,
                workingDirectory: step.workingDirectory, chown: add.chown, chmod: add.chmod, excludes: add.excludes,
                link: add.link, isAdd: true, unpack: add.unpack, checksum: add.checksum)
        default:
            throw FileOperationError("\(step.instruction.keyword) is not a file operation")
        }
        let root: CopySourceRoot
        switch step.source {
        case .context(let directory, let dockerfile):
            root = .context(try BuildContext(directory: directory, dockerfile: dockerfile))
        case .directory(let directory):
            root = .directory(directory)
        }
        let plan = try await CopyPlanner(scratch: step.scratch, memo: memo).plan(request, from: root)
        return PlannedFileOperation(contentDigest: plan.contentDigest, description: plan.description,
                                    sourceFiles: plan.sourceFiles) { rootfs in
            try await plan.apply(to: rootfs)
        }
    }
}
