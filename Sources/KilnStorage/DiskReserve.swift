import Foundation
import Glibc
import KilnArchive

/// The free space and free inodes Kiln leaves on the filesystem of its root, whatever it is
/// asked to write: layers unpacked into snapshots, layers written from a step, blobs ingested
/// into the content store, copied trees, and what a `RUN` step writes into its rootfs. A
/// layer that expands to more than the disk holds (a decompression bomb, of bytes or of empty
/// files) stops with ``StorageError/diskReserveReached(_:)`` before the host runs out, and the
/// writer's caller removes what it wrote.
///
/// This type is the one place that decides: writers pass a ``WriteGate`` made by
/// ``gate(for:writing:)`` (a `statvfs` every 8 MiB or 256 entries), and a `RUN` step's watcher
/// calls ``check(_:writing:)`` while the step runs.
///
/// Set with `kiln build --min-free-space` / `--min-free-inodes` or the environment variables
/// `KILN_MIN_FREE_SPACE` / `KILN_MIN_FREE_INODES` (the flag wins). Each takes an absolute
/// amount (`2G`, `512M`, `100000`), a share of the filesystem (`5%`) or `0` (no reserve).
/// Default: the smaller of 1 GiB and 5 % of the filesystem's size, and the smaller of 50,000
/// and 5 % of its inodes (so a small filesystem is not refused outright).
public struct DiskReserve: Sendable, Hashable {
    /// How much of one resource (bytes or inodes) is kept free.
    public enum Amount: Sendable, Hashable, CustomStringConvertible {
        /// An absolute number of bytes or inodes.
        case absolute(UInt64)
        /// A percentage of the filesystem's total.
        case percent(Double)
        /// The smaller of an absolute number and a percentage of the total.
        case smallerOf(UInt64, percent: Double)

        /// The amount on a filesystem with `total` bytes or inodes.
        public func resolved(total: UInt64) -> UInt64 {
            switch self {
            case .absolute(let value): return value
            case .percent(let share): return UInt64(Double(total) * share / 100)
            case .smallerOf(let value, let share): return min(value, UInt64(Double(total) * share / 100))
            }
        }

        public var description: String {
            switch self {
            case .absolute(let value): return "\(value)"
            case .percent(let share): return "\(share)%"
            case .smallerOf(let value, let share): return "min(\(value), \(share)%)"
            }
        }

        /// Parses `0`, `100000`, `512M`, `2G`, `1GiB`, `5%` (size suffixes K, M, G, T in powers
        /// of 1024, with an optional `B`/`iB`, when `allowsSizeSuffix`).
        public init?(parsing text: String, allowsSizeSuffix: Bool) {
            var text = text.trimmingCharacters(in: .whitespaces).uppercased()
            if text.hasSuffix("%") {
                guard let share = Double(text.dropLast()), share >= 0, share <= 100 else { return nil }
                self = .percent(share)
                return
            }
            var multiplier: UInt64 = 1
            if allowsSizeSuffix {
                for suffix in ["IB", "B"] where text.hasSuffix(suffix) {
                    text.removeLast(suffix.count)
                    break
                }
                if let unit = text.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(unit)] {
                    multiplier = 1 << (10 * UInt64(power))
                    text.removeLast()
                }
            }
            guard let value = UInt64(text), value <= UInt64.max / multiplier else { return nil }
            self = .absolute(value * multiplier)
        }
    }

    /// Free bytes kept.
    public var space: Amount
    /// Free inodes kept.
    public var inodes: Amount

    /// A reserve of `space` bytes and `inodes` inodes.
    public init(space: Amount, inodes: Amount) {
        self.space = space
        self.inodes = inodes
    }

    /// The default: the smaller of 1 GiB and 5 %, the smaller of 50,000 inodes and 5 %.
    public static let `default` = DiskReserve(space: .smallerOf(1 << 30, percent: 5), inodes: .smallerOf(50_000, percent: 5))
    /// No reserve at all.
    public static let none = DiskReserve(space: .absolute(0), inodes: .absolute(0))

    /// The flag and the environment variable for free space.
    public static let spaceSetting = (flag: "--min-free-space", variable: "KILN_MIN_FREE_SPACE")
    /// The flag and the environment variable for free inodes.
    public static let inodeSetting = (flag: "--min-free-inodes", variable: "KILN_MIN_FREE_INODES")

    /// The default with `KILN_MIN_FREE_SPACE` and `KILN_MIN_FREE_INODES` applied; a value that
    /// does not parse is an error naming the variable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DiskReserve {
        var reserve = DiskReserve.default
        if let text = environment[spaceSetting.variable], !text.isEmpty {
            reserve.space = try parse(text, setting: spaceSetting.variable, allowsSizeSuffix: true)
        }
        if let text = environment[inodeSetting.variable], !text.isEmpty {
            reserve.inodes = try parse(text, setting: inodeSetting.variable, allowsSizeSuffix: false)
        }
        return reserve
    }

    /// Parses one setting's value; the error names `setting` and the accepted forms.
    public static func parse(_ text: String, setting: String, allowsSizeSuffix: Bool) throws -> Amount {
        guard let amount = Amount(parsing: text, allowsSizeSuffix: allowsSizeSuffix) else {
            let forms = allowsSizeSuffix ? "a size (1073741824, 512M, 2G), a percentage (5%) or 0" : "a count (50000), a percentage (5%) or 0"
            throw StorageError.invalidSetting(name: setting, value: text, expected: forms)
        }
        return amount
    }

    /// What the filesystem holding `path` has free, and what this reserve keeps on it.
    public func state(of path: String) throws(StorageError) -> DiskReserveState {
        var info = statvfs()
        try posix("statvfs", path) { statvfs(path, &info) }
        let blockSize = UInt64(info.f_frsize)
        // btrfs and some network filesystems report no inode limit (f_files == 0).
        let hasInodeLimit = info.f_files > 0
        return DiskReserveState(
            path: path,
            freeBytes: UInt64(info.f_bavail) * blockSize,
            reservedBytes: space.resolved(total: UInt64(info.f_blocks) * blockSize),
            freeInodes: hasInodeLimit ? UInt64(info.f_favail) : nil,
            reservedInodes: hasInodeLimit ? inodes.resolved(total: UInt64(info.f_files)) : 0)
    }

    /// Throws ``StorageError/diskReserveReached(_:)`` when the filesystem holding `path` has
    /// less free space or fewer free inodes than this reserve keeps. `what` names what was
    /// being written (a layer digest, a step), for the error.
    public func check(_ path: String, writing what: @autoclosure () -> String) throws(StorageError) {
        var state = try state(of: path)
        guard state.isBelowReserve else { return }
        // Least recently used snapshots go before the build does (a registered reclaimer).
        if Self.reclaim(below: path, for: state) {
            state = try self.state(of: path)
            guard state.isBelowReserve else { return }
        }
        throw StorageError.diskReserveReached(DiskReserveShortfall(writing: what(), state: state))
    }

    /// A gate for a writer filling `directory`: it closes once the reserve is reached (and on
    /// cancellation, like every gate).
    public func gate(for directory: URL, writing what: String) -> WriteGate {
        if self == .none { return WriteGate() }
        let path = directory.path
        return WriteGate { try check(path, writing: what) }
    }
}

/// Free space and inodes of one filesystem against a ``DiskReserve``.
public struct DiskReserveState: Sendable, Hashable {
    /// The path whose filesystem was measured.
    public var path: String
    /// Bytes available to this user.
    public var freeBytes: UInt64
    /// Bytes the reserve keeps free.
    public var reservedBytes: UInt64
    /// Inodes available; nil on a filesystem without an inode limit.
    public var freeInodes: UInt64?
    /// Inodes the reserve keeps free.
    public var reservedInodes: UInt64

    /// Whether writing must stop.
    public var isBelowReserve: Bool { isShortOfSpace || isShortOfInodes }
    /// Whether free space is below the reserve.
    public var isShortOfSpace: Bool { freeBytes < reservedBytes }
    /// Whether free inodes are below the reserve.
    public var isShortOfInodes: Bool { freeInodes.map { $0 < reservedInodes } ?? false }
}

/// Why a write was stopped: what it was, and the free space or inodes against the reserve.
public struct DiskReserveShortfall: Sendable, Hashable, CustomStringConvertible {
    /// What was being written: a layer, a step, a blob.
    public var writing: String
    /// The filesystem's state when the write stopped.
    public var state: DiskReserveState

    public var description: String {
        let filesystem = "the filesystem of \(state.path)"
        if state.isShortOfSpace {
            let setting = DiskReserve.spaceSetting
            return "stopped \(writing): \(filesystem) has \(Self.bytes(state.freeBytes)) free, below the reserve of "
                + "\(Self.bytes(state.reservedBytes)) Kiln keeps; free some space or change the reserve with "
                + "\(setting.flag) or \(setting.variable) (e.g. 512M, 2%, 0 for none)"
        }
        let setting = DiskReserve.inodeSetting
        return "stopped \(writing): \(filesystem) has \(state.freeInodes ?? 0) free inodes, below the reserve of "
            + "\(state.reservedInodes) Kiln keeps; free some inodes or change the reserve with "
            + "\(setting.flag) or \(setting.variable) (e.g. 10000, 1%, 0 for none)"
    }

    /// Bytes in the largest binary unit that keeps a value of at least 1, e.g. `812.4 MiB`.
    public static func bytes(_ count: UInt64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
