import Foundation
import KilnBuilder

/// `--progress tty`: finished steps collapse to one line each; every running step keeps a
/// live line with its elapsed time and its last output line, redrawn in place.
struct TTYProgress: ProgressRenderer {
    private struct Running {
        var step: StepIdentity
        var began: ContinuousClock.Instant
        var lastLine: String
    }

    private struct Transfer {
        var began: ContinuousClock.Instant
        var completed: Int64
        var total: Int64
    }

    private var running: [Int: Running] = [:]
    /// Blobs moving now, by digest: a live bar each.
    private var transfers: [String: Transfer] = [:]
    /// How many live lines are on screen below the finished ones.
    private var drawn = 0
    private var lastDraw: ContinuousClock.Instant?

    mutating func render(_ event: BuildEvent) {
        switch event {
        case .stepStarted(let step):
            running[step.number] = Running(step: step, began: .now, lastLine: "")
            redraw(force: true)
        case .stepFinished(let step, let status, let seconds, _):
            running[step.number] = nil
            let outcome = status == .cached ? "CACHED" : seconds.secondsText
            printAboveLive("=> \(step.label.prefix(columns - 12)) \(outcome)")
        case .output(let step, let line, _):
            running[step.number]?.lastLine = line
            redraw(force: false)
        case .transfer(_, let progress):
            let key = progress.digest.encoded
            if progress.completedBytes >= progress.totalBytes {
                transfers[key] = nil
                if !progress.skipped {
                    printAboveLive("=> fetched \(key.prefix(12)) \(Self.bytes(progress.totalBytes))")
                }
            } else {
                let began = transfers[key]?.began ?? .now
                transfers[key] = Transfer(began: began, completed: progress.completedBytes, total: progress.totalBytes)
                redraw(force: false)
            }
        case .warning(let message):
            printAboveLive("WARNING: \(message)")
        case .info(let message):
            printAboveLive(message)
        }
    }

    mutating func finish() {
        clearLive()
    }

    var wantsTicks: Bool { true }

    mutating func tick() {
        if !running.isEmpty || !transfers.isEmpty { redraw(force: true) }
    }

    private var columns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }

    private mutating func printAboveLive(_ line: String) {
        clearLive()
        StandardError.write(line + "\n")
        redraw(force: true)
    }

    private mutating func clearLive() {
        guard drawn > 0 else { return }
        StandardError.write(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawn))
        drawn = 0
    }

    /// Redraws the live lines; output-driven redraws are limited to ten a second.
    private mutating func redraw(force: Bool) {
        let now = ContinuousClock.now
        if !force, let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        clearLive()
        let width = columns
        for entry in running.values.sorted(by: { $0.step.number < $1.step.number }) {
            let elapsed = now - entry.began
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var text = "=> \(entry.step.label) \(seconds.secondsText)"
            if !entry.lastLine.isEmpty { text += "  | " + entry.lastLine }
            StandardError.write(String(text.prefix(width - 1)) + "\n")
            drawn += 1
        }
        for (digest, transfer) in transfers.sorted(by: { $0.key < $1.key }) {
            let elapsed = now - transfer.began
            let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            let fraction = transfer.total > 0 ? Double(transfer.completed) / Double(transfer.total) : 0
            let filled = Int(fraction * 20)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
            let text = "=> fetching \(digest.prefix(12)) [\(bar)] \(Self.bytes(transfer.completed))/\(Self.bytes(transfer.total))"
                + " \(Self.bytes(Int64(Double(transfer.completed) / seconds)))/s"
            StandardError.write(String(text.prefix(width - 1)) + "\n")
            drawn += 1
        }
    }

    private static func bytes(_ count: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: count, countStyle: .binary)
    }
}
