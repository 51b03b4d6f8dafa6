import Foundation

/// Which OCI runtime `--runtime` asks for.
public enum RuntimeChoice: Sendable, Hashable, CustomStringConvertible {
    /// The first installed runtime that can run a container on this machine.
    case auto
    /// runc from the search path.
    case runc
    /// crun from the search path.
    case crun
    /// A specific binary.
    case path(URL)

    /// Parses a `--runtime` value: `auto`, `runc`, `crun` or a path to a binary.
    public init(argument: String) {
        switch argument {
        case "auto", "": self = .auto
        case "runc": self = .runc
        case "crun": self = .crun
        default: self = .path(URL(fileURLWithPath: argument))
        }
    }

    /// The `--runtime` spelling.
    public var description: String {
        switch self {
        case .auto: return "auto"
        case .runc: return "runc"
        case .crun: return "crun"
        case .path(let url): return url.path
        }
    }
}

/// Finds the runtime to use. Whether a runtime works is learnt by running one trivial
/// container (Debian's crun 1.8, for one, refuses hybrid cgroup hierarchies), once per
/// binary per process, and not again in later processes of the same boot once it worked
/// (``RuntimeProbeRecord``).
public actor RuntimeDetector {
    /// The process-wide detector, so each binary is probed once.
    public static let shared = RuntimeDetector()

    /// Where processes of this boot keep which runtimes worked: `/run/kiln/runtime-probes` for
    /// root, a directory of the user's own in a user namespace (``RuntimeProbeRecord``).
    public static var standardProbeRecords: URL? { RuntimeProbeRecord.standard.directory }

    /// The directories searched for `runc` and `crun`, in order.
    public let searchPath: [String]
    private var probes: [URL: String?] = [:]
    private let records: RuntimeProbeRecord

    /// Searches `searchPath`, by default `$PATH` followed by the sbin directories root's PATH has;
    /// keeps which runtimes worked in `probeRecords` (nil: nowhere).
    public init(searchPath: [String]? = nil, probeRecords: URL? = RuntimeDetector.standardProbeRecords) {
        records = RuntimeProbeRecord(directory: probeRecords)
        self.searchPath = searchPath ?? ExecutableSearch.standard.directories
    }

    /// The runtime for `choice`. An explicit runtime is only checked for existence; `auto`
    /// returns the first of runc and crun that runs a trivial container.
    public func runtime(for choice: RuntimeChoice) async throws -> OCIRuntime {
        switch choice {
        case .path(let url):
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw ExecutorError.runtimeNotFound(url.path)
            }
            return OCIRuntime(executable: url)
        case .runc, .crun:
            guard let url = find(choice.description) else { throw ExecutorError.runtimeNotFound(choice.description) }
            return OCIRuntime(executable: url)
        case .auto:
            let installed = ["runc", "crun"].compactMap(find)
            guard !installed.isEmpty else { throw ExecutorError.noRuntimeInstalled(searched: searchPath) }
            var reasons: [String] = []
            for url in installed {
                let runtime = OCIRuntime(executable: url)
                if let failure = await probe(runtime) {
                    reasons.append("\(url.path): \(failure)")
                } else {
                    return runtime
                }
            }
            throw ExecutorError.noUsableRuntime(reasons)
        }
    }

    /// Nil when `runtime` runs a trivial container here, else why it does not.
    public func probe(_ runtime: OCIRuntime) async -> String? {
        if let cached = probes[runtime.executable] { return cached }
        // The key is read once: the binary's identity as it was before the probe.
        let record = records.file(for: runtime.executable)
        if let record, records.worked(record) {
            probes[runtime.executable] = .some(nil)
            return nil
        }
        let failure = await Self.runTrivialContainer(runtime)
        probes[runtime.executable] = failure
        if failure == nil, let record { records.recordWorked(runtime.executable, in: record) }
        return failure
    }

    private func find(_ name: String) -> URL? {
        ExecutableSearch(directories: searchPath).find(name).map { URL(fileURLWithPath: $0) }
    }

    /// Runs `/bin/true` from the host's read-only /usr, /bin and /lib in an empty rootfs, with
    /// the same spec a RUN step gets, so a runtime passing this can run real steps.
    private static func runTrivialContainer(_ runtime: OCIRuntime) async -> String? {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let rootfs = scratch.appendingPathComponent("rootfs")
        do {
            try FileManager.default.createDirectory(at: rootfs, withIntermediateDirectories: true)
            let hostDirectories = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
                .filter { FileManager.default.fileExists(atPath: $0) }
            let step = ExecutionStep(
                rootfs: rootfs, arguments: ["/bin/true"], network: .none,
                mounts: hostDirectories.map { .bind(source: URL(fileURLWithPath: $0), destination: $0, readOnly: true) })
            // A state directory of its own: the runtime's default (/run/runc) is root's alone.
            let executor = Executor(runtime: runtime.withStateDirectory(scratch.appendingPathComponent("state")),
                                    bundleParent: scratch.appendingPathComponent("bundles"), tailLineCount: 5)
            let result = try await executor.run(step)
            if result.succeeded { return nil }
            let message = result.lastLines.map(\.text).joined(separator: " ")
            return message.isEmpty ? "exit status \(result.exitStatus)" : message
        } catch {
            return "\(error)"
        }
    }
}
