import Foundation
import Glibc
import KilnArchive
import KilnStorage

/// A stage's working rootfs on overlayfs: the chain directory at the bottom, then the upper
/// directory of every step done so far as read-only lowers, and a fresh upper per step. A
/// step's changes are exactly its own upper directory, so the cost of a step's diff is that
/// of its changes, not of the whole tree, and the chain is never copied.
struct OverlayStack: Sendable {
    /// Owned by the stack; removed on release.
    let directory: URL
    /// The materialised layer chain (read-only).
    let chain: URL
    /// Where steps run while a step is mounted.
    let merged: URL
    /// Uppers of finished steps, oldest first.
    private(set) var finished: [URL] = []
    /// The current step's upper, while mounted.
    private(set) var current: URL?

    /// Overlay's mount options must fit in a page; beyond this the stage starts a new rootfs.
    var isFull: Bool { lowers.joined(separator: ":").utf8.count > 3000 }

    /// The finished steps' uppers, newest first, over the chain.
    private var lowers: [String] {
        finished.reversed().map(\.path) + [chain.path]
    }

    /// A stack on `chain` in a new directory below `scratch`, with the first step mounted;
    /// nil when this process cannot mount overlayfs here.
    static func make(chain: URL, scratch: URL) -> OverlayStack? {
        let directory = scratch.appendingPathComponent("ovl-\(String(UInt32.random(in: .min ... .max), radix: 36))")
        var stack = OverlayStack(directory: directory, chain: chain, merged: directory.appendingPathComponent("m"))
        do {
            try FileManager.default.createDirectory(at: stack.merged, withIntermediateDirectories: true)
            try stack.beginStep()
            return stack
        } catch {
            try? FileManager.default.removeItem(at: directory)
            return nil
        }
    }

    /// Mounts a fresh upper for the next step (no-op when one is mounted).
    mutating func beginStep() throws {
        guard current == nil else { return }
        let index = finished.count
        let upper = directory.appendingPathComponent("u\(index)")
        let work = directory.appendingPathComponent("w\(index)")
        for path in [upper, work] { try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true) }
        do {
            try Overlay.mount(lowers: lowers, upper: upper.path, work: work.path, at: merged.path)
        } catch {
            try? FileManager.default.removeItem(at: upper)
            try? FileManager.default.removeItem(at: work)
            throw BuildError.invalidOption("overlay mount failed: \(error)")
        }
        current = upper
    }

    /// The current step's changes, with directories that were only copied up (a mount point
    /// made and removed inside them, their metadata unchanged) left out.
    func changes() async throws -> [LayerChange] {
        guard let current else { return [] }
        let all = try await Snapshot.overlayChanges(upper: current, lowers: lowers.map { URL(fileURLWithPath: $0) })
        let opaque = Set(all.compactMap { change -> String? in
            if case .opaque(let directory) = change { return directory }
            return nil
        })
        let paths = all.map(\.path)
        return all.filter { change in
            guard case .write(let path) = change, !opaque.contains(path) else { return true }
            let prefix = path + "/"
            if paths.contains(where: { $0.hasPrefix(prefix) }) { return true }
            guard let now = Self.status(current.appendingPathComponent(path).path), (now.st_mode & S_IFMT) == S_IFDIR,
                  let before = previousStatus(of: path) else { return true }
            return now.st_mode != before.st_mode || now.st_uid != before.st_uid || now.st_gid != before.st_gid
                || now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec
        }
    }

    /// Unmounts the current step and keeps its upper as a lower of the next.
    mutating func endStep() {
        guard let current else { return }
        unmount()
        finished.append(current)
        self.current = nil
    }

    /// How `path` (relative) looked before the current step: in the newest finished upper that
    /// has it, else in the chain; nil when it did not exist (or was deleted).
    func previousStatus(of path: String) -> stat? {
        for layer in finished.reversed() + [chain] {
            guard let status = Self.status(layer.appendingPathComponent(path).path) else { continue }
            if (status.st_mode & S_IFMT) == S_IFCHR && status.st_rdev == 0 { return nil }  // whiteout
            return status
        }
        return nil
    }

    /// Unmounts and removes everything.
    func release() {
        unmount()
        try? FileManager.default.removeItem(at: directory)
    }

    private func unmount() {
        try? Overlay.unmount(merged.path)
    }

    private static func status(_ path: String) -> stat? {
        var status = stat()
        return lstat(path, &status) == 0 ? status : nil
    }
}
