import Foundation
import Glibc

/// The most Kiln's root keeps of what it can fetch or make again: layer snapshots, chain
/// directories and the content store's blobs (cached step results, base layers). Beyond it the
/// least recently used go, snapshots first (a blob makes its snapshot again), blobs and the
/// cache entries that need them only when no other build runs on the root.
///
/// Set with `kiln build --disk-budget` or `KILN_DISK_BUDGET` (the flag wins): an absolute
/// size (`20G`), a share of the filesystem (`20%`) or `0` (no budget). Default: the smaller of
/// 20 GiB and 20 % of the filesystem.
public struct DiskBudget: Sendable, Hashable {
    /// How much may be kept.
    public var limit: DiskReserve.Amount

    /// A budget of `limit`.
    public init(limit: DiskReserve.Amount) {
        self.limit = limit
    }

    /// The smaller of 20 GiB and 20 % of the filesystem.
    public static let `default` = DiskBudget(limit: .smallerOf(20 << 30, percent: 20))
    /// No budget: nothing is evicted for size (the disk reserve still stops a build).
    public static let unlimited = DiskBudget(limit: .absolute(0))

    /// The flag and the environment variable.
    public static let setting = (flag: "--disk-budget", variable: "KILN_DISK_BUDGET")

    /// The default with `KILN_DISK_BUDGET` applied; a value that does not parse is an error naming it.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DiskBudget {
        guard let text = environment[setting.variable], !text.isEmpty else { return .default }
        return DiskBudget(limit: try DiskReserve.parse(text, setting: setting.variable, allowsSizeSuffix: true))
    }

    /// The budget in bytes on the filesystem holding `path`; nil for no budget.
    public func bytes(onFilesystemOf path: String) -> UInt64? {
        if limit == .absolute(0) { return nil }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let resolved = limit.resolved(total: UInt64(info.f_blocks) * UInt64(info.f_frsize))
        return resolved == 0 ? nil : resolved
    }
}
