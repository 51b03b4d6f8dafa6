import Foundation
import KilnCache
import KilnFileOps
import KilnOCI
import KilnStorage

/// The root a stage's COPY and ADD steps run on where this machine lacks snapshots of the
/// layers below them and nothing after them in the stage runs a command: a ``PartialRoot``
/// of those layers (read from their blobs, never unpacked) at the bottom of an overlay, and
/// each step's upper, once its layer is written, stacked on it for the next.
///
/// The one rule that keeps a step here the step a whole root would give: every path the step
/// wrote (the overlay's upper, copied-up parents included) was written by an earlier step
/// here or is covered by the partial root, and every path the step reads (its plan's
/// ``PlannedFileOperation/consultedPaths`` and where links lead them) is covered. A path that
/// is not is chosen in a partial root read again, and the step done again on it.
struct PartialWorkingRoot: Sendable {
    private var root: PartialRoot
    private var stack: OverlayStack
    /// Paths the steps done here wrote: their state is in the stacked uppers.
    private var written: Set<String> = []
    /// How many layers the next step sits on.
    private(set) var height: Int

    /// How many times a step is done again on a wider partial root before giving up.
    static let attempts = 4

    /// A partial root of `layers` choosing `consulted`, ready for a step; nil when one cannot be made.
    static func open(_ layers: [StageLayer], consulting consulted: Set<String>, for step: StepIdentity,
                     session: BuildSession) async throws -> PartialWorkingRoot? {
        guard let root = try await session.unpacking(layers, for: step, { references in
            try await PartialRoot.make(references, consulting: consulted, store: session.store, scratch: session.scratch)
        }) else { return nil }
        do {
            let stack = try OverlayStack.make(lowers: [root.directory], scratch: session.scratch)
            return PartialWorkingRoot(root: root, stack: stack, height: layers.count)
        } catch {
            root.release()
            throw error
        }
    }

    /// Does `operation` here and writes its layer (nil: it changed nothing). Nil when the step
    /// cannot be decided here (it failed, or a partial root choosing what it needs could not
    /// be made): the caller does it on the whole root, whose result and errors count.
    mutating func copy(_ operation: PlannedFileOperation, session: BuildSession) async throws -> CachedLayer?? {
        guard let consulted = operation.consultedPaths else { return nil }
        var needed = root.notCovered(resolving: consulted).subtracting(written)
        for _ in 0..<Self.attempts {
            if !needed.isEmpty {
                guard try await widen(by: needed) else { return nil }
            }
            try stack.beginStep()
            do {
                try await operation.apply(stack.merged)
            } catch let error as CancellationError {
                discardStep()
                throw error
            } catch {
                discardStep()
                return nil
            }
            let paths = try await stack.writtenPaths()
            needed = Set(paths.filter { !written.contains($0) && !root.covers($0) })
            guard needed.isEmpty else {
                discardStep()
                continue
            }
            let layer = try await WorkingRootfs.write(try await stack.changes(), from: stack.merged, session: session)
            guard let upper = stack.endStep() else { return .some(layer) }
            if layer == nil {
                try? FileManager.default.removeItem(at: upper)
            } else {
                stack.push(upper)
                written.formUnion(paths)
                height += 1
            }
            return .some(layer)
        }
        return nil
    }

    /// Reads the partial root again with `paths` chosen too; false when it cannot be made.
    private mutating func widen(by paths: Set<String>) async throws -> Bool {
        guard let wider = try await root.widened(by: paths) else { return false }
        discardStep()
        root.release()
        root = wider
        stack.replaceBottom(with: wider.directory)
        return true
    }

    private mutating func discardStep() {
        if let upper = stack.endStep() { try? FileManager.default.removeItem(at: upper) }
    }

    /// Unmounts and removes the overlay and the partial root.
    func release() {
        stack.release()
        root.release()
    }
}
