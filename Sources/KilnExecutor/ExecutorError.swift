import Foundation

/// Failures of the executor itself (a failing command is an ``ExecutionResult``, not an error).
public enum ExecutorError: Error, Equatable, CustomStringConvertible {
    /// No runc or crun on the search path.
    case noRuntimeInstalled(searched: [String])
    /// The requested runtime binary does not exist.
    case runtimeNotFound(String)
    /// Runtimes exist but none can run a container on this machine; one reason per runtime.
    case noUsableRuntime([String])
    /// The runtime could not start the container (the command never ran).
    case runtimeFailed(runtime: String, message: String)
    /// A mount point could not be created in the rootfs.
    case cannotCreateMountTarget(String)
    /// A runtime command (`kill`, `delete`, `list`) failed.
    case runtimeCommandFailed(command: String, status: Int32, message: String)
    /// The step needs entitlements the build was not given (`kiln build --allow …`).
    case notEntitled([Entitlement])
    /// The default (sandbox) network could not be set up; the step never ran.
    case sandboxNetworkUnavailable(String)
    /// Chroot isolation could not prepare or start the step (the command never ran).
    case chrootFailed(String)
    /// The step asks what chroot isolation cannot give (`--network=none`, `--security=insecure`).
    case notAvailableInChroot(String)

    private static let installHint = "install one: apt-get install runc (or apt-get install crun)"

    /// A message for the user, with the fix.
    public var description: String {
        switch self {
        case .noRuntimeInstalled(let searched):
            return "no OCI runtime found (looked for runc and crun in \(searched.joined(separator: ":"))); "
                + Self.installHint
        case .runtimeNotFound(let path):
            return "OCI runtime not found at \(path); " + Self.installHint
        case .noUsableRuntime(let reasons):
            return "no OCI runtime can run containers here:\n" + reasons.map { "  " + $0 }.joined(separator: "\n")
        case .runtimeFailed(let runtime, let message):
            return "\(runtime) could not run the step: \(message)"
        case .cannotCreateMountTarget(let path):
            return "cannot create mount point \(path) in the rootfs"
        case .runtimeCommandFailed(let command, let status, let message):
            return "\(command) exited with status \(status): \(message)"
        case .notEntitled(let missing):
            let names = missing.map(\.rawValue).sorted()
            return "the step needs " + names.joined(separator: " and ")
                + ", which this build was not allowed (" + names.map { "--allow \($0)" }.joined(separator: " ") + ")"
        case .sandboxNetworkUnavailable(let reason):
            return "cannot set up the step's network: \(reason) (the default network needs slirp4netns and /dev/net/tun; "
                + "--network none builds without a network)"
        case .chrootFailed(let reason):
            return "chroot isolation: \(reason)"
        case .notAvailableInChroot(let what):
            return "\(what) cannot be honoured in chroot isolation, where a step has no namespace of its own"
        }
    }
}
