import Foundation
import KilnBuilder

/// Turns build events into text on standard error. Events arrive from many tasks; the
/// display reads them from one stream in one task, so a renderer needs no locking.
protocol ProgressRenderer: Sendable {
    /// Shows one event.
    mutating func render(_ event: BuildEvent)
    /// Called once when the build ended (successfully or not).
    mutating func finish()
    /// Called about twice a second when ``wantsTicks``, to refresh elapsed times.
    mutating func tick()
    /// Whether the display redraws on its own between events.
    var wantsTicks: Bool { get }
}

extension ProgressRenderer {
    mutating func tick() {}
    var wantsTicks: Bool { false }
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
    private let ticker: Task<Void, Never>?
    private let continuation: AsyncStream<Input>.Continuation

    /// What the rendering task reads: events, and clock ticks for live displays.
    private enum Input: Sendable {
        case event(BuildEvent)
        case tick
    }

    init(mode: ProgressMode) {
        let (stream, continuation) = AsyncStream<Input>.makeStream()
        self.continuation = continuation
        // Events carry input (Dockerfile text, step output, registry messages): escaped here,
        // once, for every renderer.
        self.sink = { continuation.yield(.event($0.terminalSafe)) }
        var renderer = mode.makeRenderer()
        ticker = renderer.wantsTicks ? Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                continuation.yield(.tick)
            }
        } : nil
        done = Task {
            for await input in stream {
                switch input {
                case .event(let event): renderer.render(event)
                case .tick: renderer.tick()
                }
            }
            renderer.finish()
        }
    }

    /// Shows what is still queued and waits until the renderer finished.
    func close() async {
        ticker?.cancel()
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
