import Foundation

/// QEMU user emulation for tests that run foreign binaries: makes sure the kernel has a
/// binfmt_misc handler for the architecture, registered with the F (fix-binary) flag so it
/// works inside a container's mount namespace, from Debian's `qemu-user-static`.
public enum Emulators {
    /// Where binfmt_misc is mounted.
    public static let binfmtMisc = URL(fileURLWithPath: "/proc/sys/fs/binfmt_misc")

    /// Why an emulator is missing and could not be set up.
    public struct Unavailable: Error, CustomStringConvertible {
        /// What is missing and how to add it.
        public let description: String
    }

    /// Ensures `qemu-aarch64` is registered, enabled and has the F flag (once per test run);
    /// throws ``Unavailable`` with the fix when it cannot be (not root, qemu-user-static not
    /// installed).
    public static func aarch64() throws {
        try cachedAarch64.get()
    }

    /// Whether the aarch64 emulator is (or could be made) ready, for `.enabled(if:_:)`.
    public static var isAarch64Available: Bool { (try? aarch64()) != nil }

    /// The reason tests that run aarch64 binaries are skipped, for `.enabled(if:_:)`.
    public static var aarch64UnavailableReason: String {
        do { try aarch64(); return "" } catch { return "\(error)" }
    }

    private static let cachedAarch64: Result<Void, any Error> = Result { try ensureRegistered("qemu-aarch64") }

    /// Mounts binfmt_misc if needed and registers the handler `name` (`qemu-riscv64`) from its
    /// binfmt.d file (`/usr/lib/binfmt.d/NAME.conf`, which qemu-user-static installs with the
    /// F flag), unless it is registered, enabled and has F already; one registered otherwise
    /// (disabled, or without F) is replaced.
    public static func ensureRegistered(_ name: String) throws {
        let entry = binfmtMisc.appendingPathComponent(name)
        if let text = try? String(contentsOf: entry, encoding: .utf8), isUsable(text) { return }
        guard getuid() == 0 else {
            throw Unavailable(description: "\(name) is not registered with binfmt_misc (flag F, enabled) and registering it needs root: "
                              + "apt-get install qemu-user-static")
        }
        let conf = URL(fileURLWithPath: "/usr/lib/binfmt.d/\(name).conf")
        guard let line = try? String(contentsOf: conf, encoding: .utf8), !line.isEmpty else {
            throw Unavailable(description: "\(conf.path) is missing: apt-get install qemu-user-static")
        }
        let register = binfmtMisc.appendingPathComponent("register")
        if !FileManager.default.fileExists(atPath: register.path) {
            try ProcessRunner.checked("/bin/mount", ["-t", "binfmt_misc", "binfmt_misc", binfmtMisc.path])
        }
        // A handler of that name without F (or disabled) is replaced: the kernel refuses a
        // second registration under the same name.
        if FileManager.default.fileExists(atPath: entry.path) {
            try writeProcFile("-1", to: entry)
        }
        // The kernel reads one registration per write and decodes the \x escapes itself.
        let registration = line.split(separator: "\n").first { $0.hasPrefix(":") }.map(String.init) ?? line
        try writeProcFile(registration, to: register)
        guard let text = try? String(contentsOf: entry, encoding: .utf8), isUsable(text) else {
            throw Unavailable(description: "registering \(name) from \(conf.path) did not give an enabled handler with flag F")
        }
    }

    /// Writes `line` with one `write(2)` on the existing file, as the kernel expects (an atomic
    /// write through a temporary file cannot replace a proc file).
    private static func writeProcFile(_ line: String, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(line.utf8))
    }

    /// Removes the handler `name` (as root), if registered: for a test that registered one
    /// only for itself.
    public static func unregister(_ name: String) throws {
        let entry = binfmtMisc.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: entry.path) { try writeProcFile("-1", to: entry) }
    }

    /// Registers `line` (`:name:M:offset:magic:mask:interpreter:flags`, `\xHH` escapes) as it
    /// is, for a test that needs a handler in a given state.
    public static func register(_ line: String) throws {
        try writeProcFile(line, to: binfmtMisc.appendingPathComponent("register"))
    }

    private static func isUsable(_ entry: String) -> Bool {
        let lines = entry.split(separator: "\n")
        guard lines.first == "enabled",
              let flags = lines.first(where: { $0.hasPrefix("flags:") }) else { return false }
        return flags.dropFirst("flags:".count).contains("F")
    }
}
