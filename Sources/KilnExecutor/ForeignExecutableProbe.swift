import Foundation
import Glibc
import Synchronization

/// Whether the kernel starts an executable of a foreign architecture from where Kiln runs,
/// tried for real: for a container where binfmt_misc is not mounted (a Kubernetes pod), whose
/// host may still have handlers registered. The kernel applies the host's handlers in every
/// mount namespace, but only one registered with F finds its interpreter there.
///
/// The probe is ``ELFIdentity/header`` alone in an executable temporary file: with a
/// handler the kernel starts the interpreter (which then rejects the truncated file: that
/// the process started is the answer), without one `execve` fails (`ENOEXEC`, or `ENOENT`
/// for a handler whose interpreter is not in this filesystem). Each architecture is tried at
/// most once per process.
public enum ForeignExecutableProbe {
    private static let answers = Mutex<[ELFIdentity: Bool]>([:])

    /// Whether an executable of `identity` starts here.
    public static func starts(_ identity: ELFIdentity) -> Bool {
        if let known = answers.withLock({ $0[identity] }) { return known }
        let answer = tryStarting(identity)
        answers.withLock { $0[identity] = answer }
        return answer
    }

    private static func tryStarting(_ identity: ELFIdentity) -> Bool {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        guard FileManager.default.createFile(atPath: file.path, contents: Data(identity.header), attributes: [.posixPermissions: 0o700])
        else { return false }
        guard let pid = try? ChildProcess.spawn([file.path]) else { return false }
        ChildProcess.wait(pid)
        return true
    }
}
