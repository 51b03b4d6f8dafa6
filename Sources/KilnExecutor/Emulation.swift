import Foundation
import KilnOCI

/// Which platforms' RUN steps this machine can execute, and how: the one place that decides
/// it, from the kernel's binfmt_misc handlers read once per process.
///
/// A platform is **native** when it is the host's architecture (and, on an amd64 host, 386,
/// which the kernel runs through its 32-bit compatibility). Any other platform is **emulated**
/// when an enabled handler matches the ELF header of that architecture (``ELFIdentity``; no
/// handler is known by its name) and was registered with the F (fix-binary) flag: the kernel
/// then holds the interpreter open, so it runs inside a step's root filesystem, where its path
/// does not exist, in every isolation mode (runc's namespaces or a chroot). Anything else is
/// **unavailable**, with the reason and the fix.
public struct Emulation: Sendable {
    /// Where binfmt_misc is (expected to be) mounted.
    public var directory: URL
    /// Whether binfmt_misc is mounted there (its `register` file exists).
    public var isMounted: Bool
    /// Whether the kernel uses the handlers at all (`status` is `enabled`).
    public var isEnabled: Bool
    /// The registered handlers, by name.
    public var handlers: [BinfmtHandler]
    /// The machine's own platform.
    public var host: Platform

    /// How a platform's RUN steps execute here.
    public enum Support: Sendable, Hashable {
        /// On the CPU, as the host's own.
        case native
        /// Under the interpreter of `handler` (QEMU user emulation).
        case emulated(BinfmtHandler)
        /// Not at all, for this reason.
        case unavailable(Refusal)
    }

    /// Why a platform's RUN steps cannot execute here; ``description`` says it and how to fix it.
    public enum Refusal: Sendable, Hashable, CustomStringConvertible {
        /// Only Linux executables run here.
        case notLinux(Platform)
        /// No ELF identity is known for the architecture, so no handler can be matched.
        case unknownArchitecture(Platform)
        /// binfmt_misc is not mounted at the directory.
        case notMounted(Platform, directory: String)
        /// binfmt_misc is mounted but switched off (`status` is `disabled`).
        case binfmtDisabled(Platform, directory: String)
        /// No handler matches the architecture's executables.
        case noHandler(Platform)
        /// The matching handler is disabled.
        case handlerDisabled(Platform, BinfmtHandler, directory: String)
        /// The matching handler lacks the F flag: its interpreter would be looked up inside the
        /// step's root filesystem, where it is not.
        case handlerWithoutFixBinary(Platform, BinfmtHandler)

        /// What is missing and how to add it.
        public var description: String {
            switch self {
            case .notLinux(let platform):
                return "\(platform.shortDescription) is not a Linux platform; RUN steps run Linux executables"
            case .unknownArchitecture(let platform):
                return "Kiln does not know the executables of architecture \(platform.architecture), so it cannot find an emulator for \(platform.shortDescription)"
            case .notMounted(let platform, let directory):
                return "binfmt_misc is not mounted at \(directory), so no emulator for \(platform.shortDescription) can be found: "
                    + "mount it (mount -t binfmt_misc binfmt_misc \(directory)) and register an emulator: \(Self.install(platform))"
            case .binfmtDisabled(let platform, let directory):
                return "binfmt_misc is disabled (\(directory)/status), so \(platform.shortDescription) executables cannot be emulated: "
                    + "echo 1 > \(directory)/status"
            case .noHandler(let platform):
                return "no emulator for \(platform.shortDescription) is registered with binfmt_misc: \(Self.install(platform))"
            case .handlerDisabled(let platform, let handler, let directory):
                return "the binfmt_misc handler \(handler.name) for \(platform.shortDescription) (\(handler.interpreter)) is disabled: "
                    + "echo 1 > \(directory)/\(handler.name)"
            case .handlerWithoutFixBinary(let platform, let handler):
                return "the binfmt_misc handler \(handler.name) for \(platform.shortDescription) (\(handler.interpreter), flags \"\(handler.flags)\") "
                    + "was registered without the F (fix-binary) flag, so its interpreter cannot be found inside a build's root "
                    + "filesystem: register it again with F (\(Self.install(platform)))"
            }
        }

        /// How to add an emulator, the same for every reason that comes to it.
        private static func install(_ platform: Platform) -> String {
            "install a QEMU user-mode emulator registered with the F flag, on Debian or Ubuntu: apt-get install "
                + "qemu-user-static (installed already: /usr/lib/systemd/systemd-binfmt registers its handlers again; in a "
                + "container, do it on the host: binfmt_misc belongs to the kernel); or build \(platform.shortDescription)'s "
                + "RUN steps in a stage FROM --platform=$BUILDPLATFORM and cross-compile"
        }
    }

    /// The state given; for tests and for ``read(from:host:)``.
    public init(directory: URL, isMounted: Bool, isEnabled: Bool, handlers: [BinfmtHandler], host: Platform = .host) {
        self.directory = directory
        self.isMounted = isMounted
        self.isEnabled = isEnabled
        self.handlers = handlers
        self.host = host
    }

    /// The kernel's binfmt_misc directory.
    public static let kernelDirectory = URL(fileURLWithPath: "/proc/sys/fs/binfmt_misc")

    /// The environment variable that points Kiln at another binfmt_misc directory (a test or
    /// diagnostic override: an empty directory stands for a machine without emulators).
    public static let directoryVariable = "KILN_BINFMT_MISC_DIR"

    /// This machine's state, read once per process from ``kernelDirectory`` (or
    /// `$KILN_BINFMT_MISC_DIR`).
    public static var current: Emulation { measured }

    private static let measured: Emulation = {
        let override = ProcessInfo.processInfo.environment[directoryVariable] ?? ""
        return read(from: override.isEmpty ? kernelDirectory : URL(fileURLWithPath: override))
    }()

    /// Reads the handlers in `directory`: every entry but `register` and `status` that parses
    /// as one (an unreadable entry is left out, as if not registered).
    public static func read(from directory: URL, host: Platform = .host) -> Emulation {
        let fileManager = FileManager.default
        let isMounted = fileManager.fileExists(atPath: directory.appendingPathComponent("register").path)
        let status = (try? String(contentsOf: directory.appendingPathComponent("status"), encoding: .utf8)) ?? "enabled"
        let names = ((try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        let handlers = names.filter { $0 != "register" && $0 != "status" }.compactMap { name in
            (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
                .flatMap { BinfmtHandler(name: name, entry: $0) }
        }
        return Emulation(directory: directory, isMounted: isMounted,
                         isEnabled: status.trimmingCharacters(in: .whitespacesAndNewlines) != "disabled",
                         handlers: handlers, host: host)
    }

    /// How RUN steps for `platform` execute here.
    public func support(for platform: Platform) -> Support {
        let platform = platform.normalized
        guard platform.os == "linux" else { return .unavailable(.notLinux(platform)) }
        if isNative(platform.architecture) { return .native }
        guard let identity = ELFIdentity(architecture: platform.architecture) else {
            return .unavailable(.unknownArchitecture(platform))
        }
        let path = directory.path
        guard isMounted else { return .unavailable(.notMounted(platform, directory: path)) }
        guard isEnabled else { return .unavailable(.binfmtDisabled(platform, directory: path)) }
        let header = identity.header
        let matching = handlers.filter { $0.matches(header: header) }
        if let usable = matching.first(where: { $0.isEnabled && $0.fixesBinary }) { return .emulated(usable) }
        if let withoutF = matching.first(where: \.isEnabled) { return .unavailable(.handlerWithoutFixBinary(platform, withoutF)) }
        if let disabled = matching.first { return .unavailable(.handlerDisabled(platform, disabled, directory: path)) }
        return .unavailable(.noHandler(platform))
    }

    /// The platforms whose RUN steps can execute here, each with how: `linux/amd64 (native)`,
    /// `linux/arm64 (qemu-aarch64)`, natives first.
    public var runnablePlatforms: [String] {
        let host = host.normalized
        let natives = ELFIdentity.architectures.filter(isNative)
        let emulated = ELFIdentity.architectures.filter { !isNative($0) }.compactMap { architecture -> String? in
            guard case .emulated(let handler) = support(for: Platform(os: host.os, architecture: architecture)) else { return nil }
            return "\(host.os)/\(architecture) (\(handler.name))"
        }
        return natives.map { "\(host.os)/\($0) (native)" } + emulated
    }

    /// The host's architecture, and 386 on amd64 (the kernel's 32-bit compatibility, which
    /// Debian's and most distributions' kernels have).
    private func isNative(_ architecture: String) -> Bool {
        let hostArchitecture = host.normalized.architecture
        return architecture == hostArchitecture || (hostArchitecture == "amd64" && architecture == "386")
    }
}
