import Foundation
import KilnBuilder
import KilnFileOps
import KilnCache
import KilnImage
import KilnOCI
import KilnStorage
import KilnTestSupport
import Synchronization

/// A fresh Kiln root and context directory per test, the busybox base as the named
/// context `busybox`, and the events a build reported.
final class BuildHarness: Sendable {
    let directory: URL
    let root: KilnRoot
    let context: URL
    let base: BaseImages.BaseImage
    private let recorded = EventLog()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-builder-test-\(UUID().uuidString)")
        root = KilnRoot(url: directory.appendingPathComponent("root"))
        context = directory.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        base = try BaseImages.busybox()
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    var busyboxContext: NamedContext {
        NamedContext(name: "busybox", layout: base.layout, tag: base.refName)
    }

    func request(_ dockerfile: String, buildArgs: [String: String] = [:], target: String? = nil,
                 noCache: Bool = false) -> BuildRequest {
        BuildRequest(contextDirectory: context, dockerfileText: dockerfile, buildArgs: buildArgs, target: target,
                     noCache: noCache, runtime: .runc, namedContexts: [busyboxContext])
    }

    /// Builds and returns the result; events are kept for ``events``.
    func build(_ request: BuildRequest) async throws -> BuildResult {
        recorded.clear()
        let log = recorded
        return try await Builder(root: root, fileOperations: CopyOperations()).build(request) { log.append($0) }
    }

    func build(_ dockerfile: String, buildArgs: [String: String] = [:], target: String? = nil) async throws -> BuildResult {
        try await build(request(dockerfile, buildArgs: buildArgs, target: target))
    }

    var events: [BuildEvent] { recorded.events }

    /// The texts of the steps that ran (not cached, not metadata).
    var executedSteps: [String] {
        events.compactMap {
            if case .stepFinished(let step, .executed, _, _) = $0 { return step.text }
            return nil
        }
    }

    var outputLines: [String] {
        events.compactMap {
            if case .output(_, let line, _) = $0 { return line }
            return nil
        }
    }

    /// Writes the image to an OCI layout and unpacks it with umoci; returns the bundle.
    func unpack(_ result: BuildResult, name: String = "test") async throws -> URL {
        let layout = directory.appendingPathComponent("out-\(UUID().uuidString)")
        try await ImageExporter().export(result.image, to: .ociLayout(directory: layout, name: name))
        let bundle = directory.appendingPathComponent("bundle-\(UUID().uuidString)")
        _ = try ProcessRunner.checked("umoci", ["unpack", "--image", "\(layout.path):\(name)", bundle.path])
        return bundle
    }

    /// Everything under `$KILN_ROOT/tmp` (should be empty between builds).
    var leftoverTemporaryFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root.tmp.path)) ?? []
    }

    var cacheEntryCount: Int {
        (try? LocalCacheBackend(root: root).entries().count) ?? 0
    }
}

/// Events as a build reported them, appended from any task.
final class EventLog: Sendable {
    private let storage = Mutex<[BuildEvent]>([])

    func append(_ event: BuildEvent) { storage.withLock { $0.append(event) } }
    func clear() { storage.withLock { $0 = [] } }
    var events: [BuildEvent] { storage.withLock { $0 } }
}
