import ArgumentParser
import KilnStorage

/// `--min-free-space` and `--min-free-inodes`: the ``DiskReserve`` a build leaves on the
/// filesystem of Kiln's root; `--disk-budget`: the ``DiskBudget`` of what the root keeps. A flag
/// wins over its environment variable, which wins over the default.
struct DiskReserveFlags: ParsableArguments {
    @Option(name: .customLong("min-free-space"),
            help: "Stop before free space under KILN_ROOT falls below this: 2G, 512M, 5% or 0 for none (env KILN_MIN_FREE_SPACE; default: the smaller of 1G and 5%).")
    var minFreeSpace: String?

    @Option(name: .customLong("min-free-inodes"),
            help: "Stop before free inodes under KILN_ROOT fall below this: 100000, 5% or 0 for none (env KILN_MIN_FREE_INODES; default: the smaller of 50000 and 5%).")
    var minFreeInodes: String?

    @Option(name: .customLong("disk-budget"),
            help: "Keep snapshots and blobs under KILN_ROOT within this, least recently used removed first: 20G, 20% or 0 for none (env KILN_DISK_BUDGET; default: the smaller of 20G and 20%).")
    var diskBudget: String?

    func validate() throws {
        _ = try reserve()
        _ = try budget()
    }

    /// The budget the flag, the environment and the default give.
    func budget() throws -> DiskBudget {
        do {
            guard let diskBudget else { return try DiskBudget.fromEnvironment() }
            return DiskBudget(limit: try DiskReserve.parse(diskBudget, setting: DiskBudget.setting.flag, allowsSizeSuffix: true))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The reserve these flags, the environment and the default give.
    func reserve() throws -> DiskReserve {
        do {
            var reserve = try DiskReserve.fromEnvironment()
            if let minFreeSpace {
                reserve.space = try DiskReserve.parse(minFreeSpace, setting: DiskReserve.spaceSetting.flag, allowsSizeSuffix: true)
            }
            if let minFreeInodes {
                reserve.inodes = try DiskReserve.parse(minFreeInodes, setting: DiskReserve.inodeSetting.flag, allowsSizeSuffix: false)
            }
            return reserve
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
