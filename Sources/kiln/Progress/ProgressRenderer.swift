import Foundation
import KilnBuilder

/// Turns build events into text on standard error. Events arrive from many tasks; the
/// display reads them from one stream in one task, so a renderer needs no locking.
protocol ProgressRenderer: Sendable {
    /// Shows one event.
    mutating func render(_ event: BuildEvent)
    /// Called once when the build ended (successfully or not).
    mutating func finish()
}

/// `--progress`.
enum ProgressMode: String, CaseIterable {
    case auto, tty, plain, json

    /// The renderer for this mode; `auto` is tty on a terminal, plain otherwise.
    func makeRenderer() -> any ProgressRenderer {
        switch self {
        case .auto: return isatty(STDERR_FILENO) == 1 ? TTYProgress() : PlainProgress()
        case .tty: return TTYProgress()
        case .plain: return PlainProgress()
        case .json: return JSONProgress()
        }
    }
}

/// The pipe between the builder's event sink (called from any task) and the renderer.
struct ProgressDisplay: Sendable {
    /// Hands events to the display; safe to call from any task.
    let sink: BuildEventSink
    private let done: Task<Void, Never>
    private let continuation: AsyncStream<BuildEvent>.Continuation

    init(mode: ProgressMode) {
        let (stream, continuation) = AsyncStream<BuildEvent>.makeStream()
        self.continuation = continuation
        self.sink = { continuation.yield($0) }
        var renderer = mode.makeRenderer()
        done = Task {
            for await event in stream { renderer.render(event) }
            renderer.finish()
        }
    }

    /// Shows what is still queued and waits until the renderer finished.
    func close() async {
        continuation.finish()
        await done.value
    }
}

/// Writes to standard error unbuffered, as progress is read live.
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension StepIdentity {
    /// `[build 2/5] RUN make`.
    var label: String { "[\(stage) \(position)/\(stageSteps)] \(text)" }
}

extension Double {
    /// `0.4s`.
    var secondsText: String { String(format: "%.1fs", self) }
}
