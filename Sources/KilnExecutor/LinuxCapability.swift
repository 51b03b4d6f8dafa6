import Foundation

/// The Linux capabilities Kiln names: Docker's default set, which a RUN step gets, and the
/// ones chroot isolation must take from a step (`CAP_SYS_CHROOT`, `CAP_SYS_PTRACE`) or asks of
/// the process (`CAP_SYS_ADMIN` for mounting /proc). Raw values are the kernel's numbers.
public enum LinuxCapability: Int, Sendable, CaseIterable, Comparable {
    case chown = 0
    case dacOverride = 1
    case fowner = 3
    case fsetid = 4
    case kill = 5
    case setgid = 6
    case setuid = 7
    case setpcap = 8
    case netBindService = 10
    case netRaw = 13
    case sysChroot = 18
    case sysPtrace = 19
    case sysAdmin = 21
    case mknod = 27
    case auditWrite = 29
    case setfcap = 31

    /// The name as the OCI runtime spec and `capsh` write it (`CAP_SYS_CHROOT`).
    public var name: String {
        switch self {
        case .chown: return "CAP_CHOWN"
        case .dacOverride: return "CAP_DAC_OVERRIDE"
        case .fowner: return "CAP_FOWNER"
        case .fsetid: return "CAP_FSETID"
        case .kill: return "CAP_KILL"
        case .setgid: return "CAP_SETGID"
        case .setuid: return "CAP_SETUID"
        case .setpcap: return "CAP_SETPCAP"
        case .netBindService: return "CAP_NET_BIND_SERVICE"
        case .netRaw: return "CAP_NET_RAW"
        case .sysChroot: return "CAP_SYS_CHROOT"
        case .sysPtrace: return "CAP_SYS_PTRACE"
        case .sysAdmin: return "CAP_SYS_ADMIN"
        case .mknod: return "CAP_MKNOD"
        case .auditWrite: return "CAP_AUDIT_WRITE"
        case .setfcap: return "CAP_SETFCAP"
        }
    }

    /// The capability named `name` (`CAP_CHOWN`), if Kiln knows it.
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// The capabilities in a `/proc/PID/status` mask (`CapEff:\t00000000a80425fb`) that Kiln names.
    public static func set(fromMask mask: UInt64) -> Set<LinuxCapability> {
        Set(allCases.filter { mask & (1 << UInt64($0.rawValue)) != 0 })
    }

    /// The bit mask of `capabilities`.
    public static func mask(_ capabilities: some Sequence<LinuxCapability>) -> UInt64 {
        capabilities.reduce(0) { $0 | (1 << UInt64($1.rawValue)) }
    }

    public static func < (lhs: LinuxCapability, rhs: LinuxCapability) -> Bool { lhs.rawValue < rhs.rawValue }
}
