import Foundation
import KilnExecutor
import KilnOCI
import KilnTestSupport
import Testing

/// Which platforms' RUN steps can execute here, decided from binfmt_misc entries written as
/// the kernel lists them, in a directory of the test's own.
@Suite("Emulation: binfmt_misc handlers decide which platforms RUN can execute")
struct EmulationTests {
    /// `qemu-aarch64` as the kernel lists it once Debian's qemu-user-static registered it.
    static func aarch64Entry(enabled: Bool = true, flags: String = "POF") -> String {
        """
        \(enabled ? "enabled" : "disabled")
        interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
        flags: \(flags)
        offset 0
        magic 7f454c460201010000000000000000000200b700
        mask ffffffffffffff00fffffffffffffffffeffffff

        """
    }

    /// `qemu-arm` (32-bit ARM executables): the wrong magic for arm64.
    static let armEntry = """
        enabled
        interpreter /usr/libexec/qemu-binfmt/arm-binfmt-P
        flags: POF
        offset 0
        magic 7f454c4601010100000000000000000002002800
        mask ffffffffffffff00fffffffffffffffffeffffff

        """

    /// A mounted binfmt_misc directory (`register`, `status`) with `entries`; `mounted: false`
    /// leaves it empty, as `/proc/sys/fs/binfmt_misc` is before the mount.
    static func directory(_ entries: [String: String], mounted: Bool = true, status: String = "enabled") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-binfmt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard mounted else { return url }
        try Data().write(to: url.appendingPathComponent("register"))
        try Data((status + "\n").utf8).write(to: url.appendingPathComponent("status"))
        for (name, text) in entries { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }
        return url
    }

    static let amd64Host = Platform(os: "linux", architecture: "amd64")
    static let arm64 = Platform(os: "linux", architecture: "arm64", variant: "v8")

    static func emulation(_ entries: [String: String], mounted: Bool = true, status: String = "enabled",
                          host: Platform = amd64Host) throws -> Emulation {
        let url = try directory(entries, mounted: mounted, status: status)
        defer { try? FileManager.default.removeItem(at: url) }
        return Emulation.read(from: url, host: host)
    }

    @Test("an entry is read as the kernel lists it: state, interpreter, flags, offset, magic and mask")
    func parsesKernelEntry() throws {
        let handler = try #require(BinfmtHandler(name: "qemu-aarch64", entry: Self.aarch64Entry()))
        #expect(handler.isEnabled && handler.fixesBinary)
        #expect(handler.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
        #expect(handler.flags == "POF" && handler.offset == 0)
        #expect(handler.magic?.count == 20 && handler.magic?.first == 0x7f && handler.mask?[7] == 0x00)
        #expect(BinfmtHandler(name: "status", entry: "enabled\n") == nil)
        #expect(BinfmtHandler(name: "broken", entry: "enabled\ninterpreter /x\nmagic 7f4\n") == nil)
    }

    @Test("a matching handler with the F flag emulates the platform; the host's own (and 386 on amd64) are native")
    func fixBinaryHandlerEmulates() throws {
        let emulation = try Self.emulation(["qemu-aarch64": Self.aarch64Entry()])
        guard case .emulated(let handler) = emulation.support(for: Self.arm64) else {
            Issue.record("arm64 is not emulated: \(emulation.support(for: Self.arm64))")
            return
        }
        #expect(handler.name == "qemu-aarch64")
        #expect(emulation.support(for: try Platform(parsing: "linux/aarch64")) == .emulated(handler))
        #expect(emulation.support(for: Self.amd64Host) == .native)
        #expect(emulation.support(for: try Platform(parsing: "linux/386")) == .native)
        #expect(emulation.support(for: try Platform(parsing: "linux/amd64/v3")) == .native)
        #expect(emulation.runnablePlatforms == ["linux/amd64 (native)", "linux/386 (native)", "linux/arm64 (qemu-aarch64)"])
    }

    @Test("a handler without F is refused: its interpreter is not inside a build's root filesystem")
    func withoutFixBinaryIsRefused() throws {
        let emulation = try Self.emulation(["qemu-aarch64": Self.aarch64Entry(flags: "PO")])
        guard case .unavailable(let refusal) = emulation.support(for: Self.arm64),
              case .handlerWithoutFixBinary(_, let handler) = refusal else {
            Issue.record("not refused for the missing F: \(emulation.support(for: Self.arm64))")
            return
        }
        #expect(handler.name == "qemu-aarch64")
        #expect(refusal.description.contains("without the F (fix-binary) flag") && refusal.description.contains("qemu-user-static"))
        #expect(emulation.runnablePlatforms == ["linux/amd64 (native)", "linux/386 (native)"])
    }

    @Test("a disabled handler is refused with the command that enables it")
    func disabledHandlerIsRefused() throws {
        let emulation = try Self.emulation(["qemu-aarch64": Self.aarch64Entry(enabled: false)])
        guard case .unavailable(let refusal) = emulation.support(for: Self.arm64),
              case .handlerDisabled = refusal else {
            Issue.record("not refused as disabled: \(emulation.support(for: Self.arm64))")
            return
        }
        #expect(refusal.description.contains("is disabled") && refusal.description.contains("echo 1 > ")
                && refusal.description.hasSuffix("/qemu-aarch64"))
    }

    @Test("a handler for other executables (32-bit ARM) does not emulate arm64, but does emulate arm")
    func wrongMagicIsNoHandler() throws {
        let emulation = try Self.emulation(["qemu-arm": Self.armEntry])
        guard case .unavailable(.noHandler) = emulation.support(for: Self.arm64) else {
            Issue.record("arm64 found a handler: \(emulation.support(for: Self.arm64))")
            return
        }
        guard case .emulated(let handler) = emulation.support(for: try Platform(parsing: "linux/arm/v7")) else {
            Issue.record("arm is not emulated")
            return
        }
        #expect(handler.name == "qemu-arm")
        guard case .unavailable(let refusal) = emulation.support(for: Self.arm64) else { return }
        #expect(refusal.description.contains("no emulator for linux/arm64 is registered")
                && refusal.description.contains("apt-get install qemu-user-static"), "\(refusal)")
    }

    @Test("binfmt_misc not mounted, or switched off, refuses every foreign platform with the fix; native still runs")
    func notMountedOrOff() throws {
        let unmounted = try Self.emulation([:], mounted: false)
        guard case .unavailable(let refusal) = unmounted.support(for: Self.arm64), case .notMounted = refusal else {
            Issue.record("not refused as unmounted: \(unmounted.support(for: Self.arm64))")
            return
        }
        #expect(refusal.description.contains("mount -t binfmt_misc binfmt_misc") && refusal.description.contains("qemu-user-static"))
        #expect(unmounted.support(for: Self.amd64Host) == .native)
        let off = try Self.emulation(["qemu-aarch64": Self.aarch64Entry()], status: "disabled")
        guard case .unavailable(.binfmtDisabled) = off.support(for: Self.arm64) else {
            Issue.record("not refused as switched off: \(off.support(for: Self.arm64))")
            return
        }
    }

    @Test("on an arm64 host arm64 is native and amd64 needs an emulator; a non-Linux platform never runs")
    func otherHost() throws {
        let emulation = try Self.emulation(["qemu-aarch64": Self.aarch64Entry()], host: Self.arm64)
        #expect(emulation.support(for: Self.arm64) == .native)
        guard case .unavailable(.noHandler) = emulation.support(for: Self.amd64Host) else {
            Issue.record("amd64 on arm64: \(emulation.support(for: Self.amd64Host))")
            return
        }
        guard case .unavailable(.notLinux) = emulation.support(for: try Platform(parsing: "windows/amd64")) else {
            Issue.record("windows is not refused")
            return
        }
    }

    /// The Go architecture each of Debian's qemu-user-static handlers is for.
    static let qemuArchitectures = [
        "qemu-x86_64": "amd64", "qemu-i386": "386", "qemu-aarch64": "arm64", "qemu-arm": "arm", "qemu-ppc64le": "ppc64le",
        "qemu-ppc64": "ppc64", "qemu-s390x": "s390x", "qemu-riscv64": "riscv64", "qemu-mips64el": "mips64le",
        "qemu-mips64": "mips64", "qemu-mipsel": "mipsle", "qemu-mips": "mips", "qemu-loongarch64": "loong64",
    ]

    @Test("each of Debian's qemu-user-static registrations is the one handler that matches its architecture's ELF header",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/lib/binfmt.d/qemu-aarch64.conf"), "qemu-user-static is not installed"))
    func debianRegistrationsMatchTheirArchitecture() throws {
        let directory = URL(fileURLWithPath: "/usr/lib/binfmt.d")
        let handlers = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { $0.hasPrefix("qemu-") && $0.hasSuffix(".conf") }
            .compactMap { try Self.handler(registration: String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
        #expect(handlers.count > 10, "\(handlers.map(\.name))")
        for architecture in ELFIdentity.architectures {
            let identity = try #require(ELFIdentity(architecture: architecture))
            let matching = handlers.filter { $0.matches(header: identity.header) }.map(\.name)
            let expected = Self.qemuArchitectures.filter { $0.value == architecture }.map(\.key)
                .filter { name in handlers.contains { $0.name == name } }
            #expect(matching == expected, "\(architecture): \(matching)")
        }
    }

    /// A handler from a binfmt.d registration line, `:name:M:offset:magic:mask:interpreter:flags`
    /// with `\xHH` escapes, as the kernel decodes it.
    static func handler(registration: String) throws -> BinfmtHandler? {
        let fields = registration.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 8, fields[2] == "M" else { return nil }
        return BinfmtHandler(name: String(fields[1]), isEnabled: true, interpreter: String(fields[6]), flags: String(fields[7]),
                             offset: Int(fields[3]) ?? 0, magic: decode(fields[4]), mask: fields[5].isEmpty ? nil : decode(fields[5]))
    }

    static func decode(_ escaped: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = Substring(escaped)
        while let first = rest.first {
            if rest.hasPrefix("\\x"), let byte = UInt8(rest.dropFirst(2).prefix(2), radix: 16) {
                bytes.append(byte)
                rest = rest.dropFirst(4)
            } else {
                bytes.append(contentsOf: Array(String(first).utf8))
                rest = rest.dropFirst()
            }
        }
        return bytes
    }

    @Test("this machine's own handlers, once test support registered qemu-aarch64: arm64 is emulated by it",
          .enabled(if: Emulators.isAarch64Available, Comment(rawValue: Emulators.aarch64UnavailableReason)))
    func thisMachine() throws {
        let emulation = Emulation.read(from: Emulators.binfmtMisc)
        guard case .emulated(let handler) = emulation.support(for: Self.arm64) else {
            Issue.record("arm64 is not emulated here: \(emulation.support(for: Self.arm64))")
            return
        }
        #expect(handler.fixesBinary && FileManager.default.isExecutableFile(atPath: handler.interpreter))
    }
}

/// Test support's registration, against the kernel's own binfmt_misc: a handler registered
/// without F is read as refused, and ``Emulators/ensureRegistered(_:)`` replaces it with the
/// F registration Debian ships. Uses `qemu-riscv64`, which nothing else here registers, and
/// only where it is not registered already (the machine's own handlers are left alone).
@Suite("Emulators: test support registers a handler with F, replacing one without", .serialized,
       .enabled(if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/usr/lib/binfmt.d/qemu-riscv64.conf")
                && FileManager.default.fileExists(atPath: "/proc/sys/fs/binfmt_misc/register")
                && !FileManager.default.fileExists(atPath: "/proc/sys/fs/binfmt_misc/qemu-riscv64"),
                "needs root, qemu-user-static, binfmt_misc mounted and qemu-riscv64 not registered yet"))
struct EmulatorRegistrationTests {
    @Test("the kernel's listing of a handler without F is refused; after ensureRegistered it emulates riscv64")
    func replacesHandlerWithoutFixBinary() throws {
        defer { try? Emulators.unregister("qemu-riscv64") }
        let riscv64 = Platform(os: "linux", architecture: "riscv64")
        let line = try String(contentsOfFile: "/usr/lib/binfmt.d/qemu-riscv64.conf", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let lastColon = try #require(line.lastIndex(of: ":"))
        let withoutF = String(line[..<lastColon]) + ":P"
        try Emulators.register(withoutF)
        guard case .unavailable(.handlerWithoutFixBinary(_, let handler)) = Emulation.read(from: Emulators.binfmtMisc).support(for: riscv64) else {
            Issue.record("not refused: \(Emulation.read(from: Emulators.binfmtMisc).support(for: riscv64))")
            return
        }
        #expect(handler.name == "qemu-riscv64" && handler.flags == "P")
        try Emulators.ensureRegistered("qemu-riscv64")
        guard case .emulated(let registered) = Emulation.read(from: Emulators.binfmtMisc).support(for: riscv64) else {
            Issue.record("not emulated after registering: \(Emulation.read(from: Emulators.binfmtMisc).support(for: riscv64))")
            return
        }
        #expect(registered.name == "qemu-riscv64" && registered.fixesBinary)
    }
}
