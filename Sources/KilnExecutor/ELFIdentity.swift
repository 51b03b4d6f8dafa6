/// What the start of a Linux executable for an architecture looks like: the ELF class,
/// byte order and machine. A binfmt_misc handler serves a platform when it matches the
/// ``header`` built from these, so no handler is known by its name.
public struct ELFIdentity: Sendable, Hashable {
    /// 64-bit (`ELFCLASS64`) or 32-bit.
    public var is64Bit: Bool
    /// Little-endian (`ELFDATA2LSB`) or big-endian.
    public var isLittleEndian: Bool
    /// `e_machine` (`EM_AARCH64` = 183, …).
    public var machine: UInt16

    /// The identity of executables for `architecture` (Go's spelling, as in OCI platforms);
    /// nil for one Kiln has no entry for.
    public init?(architecture: String) {
        guard let identity = Self.byArchitecture[architecture] else { return nil }
        self = identity
    }

    private init(_ is64Bit: Bool, _ isLittleEndian: Bool, _ machine: UInt16) {
        self.is64Bit = is64Bit
        self.isLittleEndian = isLittleEndian
        self.machine = machine
    }

    /// The architectures with an entry, in the order they are listed to users.
    public static let architectures = ["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le",
                                       "mips64", "mipsle", "mips", "ppc64", "loong64"]

    private static let byArchitecture: [String: ELFIdentity] = [
        "amd64": ELFIdentity(true, true, 62),       // EM_X86_64
        "386": ELFIdentity(false, true, 3),         // EM_386
        "arm64": ELFIdentity(true, true, 183),      // EM_AARCH64
        "arm": ELFIdentity(false, true, 40),        // EM_ARM
        "ppc64le": ELFIdentity(true, true, 21),     // EM_PPC64
        "ppc64": ELFIdentity(true, false, 21),
        "s390x": ELFIdentity(true, false, 22),      // EM_S390
        "riscv64": ELFIdentity(true, true, 243),    // EM_RISCV
        "mips64le": ELFIdentity(true, true, 8),     // EM_MIPS
        "mips64": ELFIdentity(true, false, 8),
        "mipsle": ELFIdentity(false, true, 8),
        "mips": ELFIdentity(false, false, 8),
        "loong64": ELFIdentity(true, true, 258),    // EM_LOONGARCH
    ]

    /// The first 64 bytes of an executable (`ET_EXEC`) for this identity: `e_ident` (magic,
    /// class, byte order, version 1, System V ABI), `e_type`, `e_machine` and `e_version`,
    /// then zeros: entry point, offsets and `e_flags` 0 (MIPS handlers compare the flags,
    /// where 0 is the plain ABI: o32, not n32), as far as any binfmt_misc magic reaches.
    public var header: [UInt8] {
        var bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, is64Bit ? 2 : 1, isLittleEndian ? 1 : 2, 1, 0]
        bytes += [UInt8](repeating: 0, count: 8)
        bytes += field(2, size: 2)        // e_type: ET_EXEC
        bytes += field(UInt32(machine), size: 2)
        bytes += field(1, size: 4)        // e_version: EV_CURRENT
        return bytes + [UInt8](repeating: 0, count: 64 - bytes.count)
    }

    /// `value` as a `size`-byte field in this identity's byte order.
    private func field(_ value: UInt32, size: Int) -> [UInt8] {
        let littleEndian = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        return isLittleEndian ? littleEndian : littleEndian.reversed()
    }
}
