import Foundation
import KilnExecutor
import KilnTestSupport

/// A busybox rootfs and an executor whose bundles live in a private folder, removed at the end.
struct ExecutorFixture {
    static let runc = URL(fileURLWithPath: "/usr/sbin/runc")
    static let crun = URL(fileURLWithPath: "/usr/bin/crun")
    static var hasRunc: Bool { FileManager.default.isExecutableFile(atPath: runc.path) && BusyboxRootfs.busybox != nil }

    let scratch: URL
    let rootfs: URL
    let executor: Executor
    /// The runtime the executor runs steps in.
    let runtime: OCIRuntime

    init(runtime: URL = ExecutorFixture.runc) throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-executor-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        rootfs = try BusyboxRootfs.make()
        self.runtime = OCIRuntime(executable: runtime)
        executor = Executor(runtime: self.runtime, bundleParent: scratch.appendingPathComponent("bundles"))
    }

    /// A shell step on this rootfs.
    func step(_ script: String, user: String = "", workingDirectory: String = "/",
              environment: [String] = [], network: NetworkMode = .default, security: SecurityMode = .sandbox,
              entitlements: Set<Entitlement> = [], mounts: [StepMount] = []) -> ExecutionStep {
        ExecutionStep(rootfs: rootfs, arguments: ["/bin/sh", "-c", script], environment: environment,
                      workingDirectory: workingDirectory, user: user, network: network, security: security,
                      entitlements: entitlements, mounts: mounts)
    }

    /// Runs a step and collects its lines.
    func run(_ step: ExecutionStep) async throws -> (result: ExecutionResult, lines: [OutputLine]) {
        let collected = Collected()
        let result = try await executor.run(step) { await collected.append($0) }
        return (result, await collected.lines)
    }

    /// The bundles left behind (none after any run).
    func leftoverBundles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: executor.bundleParent.path)) ?? []
    }

    func remove() {
        try? FileManager.default.removeItem(at: scratch)
        try? FileManager.default.removeItem(at: rootfs)
    }
}

/// Lines received by an output callback.
actor Collected {
    private(set) var lines: [OutputLine] = []

    func append(_ line: OutputLine) {
        lines.append(line)
    }
}

extension [OutputLine] {
    /// The text of the stdout lines.
    var stdout: [String] { filter { $0.stream == .stdout }.map(\.text) }
}
