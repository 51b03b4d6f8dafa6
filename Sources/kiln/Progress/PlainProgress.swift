import Foundation
import KilnBuilder

/// `--progress plain`: one line per event, prefixed by the step number, for CI logs.
struct PlainProgress: ProgressRenderer {
    private var started: [Int: ContinuousClock.Instant] = [:]

    mutating func render(_ event: BuildEvent) {
        switch event {
        case .stepStarted(let step):
            started[step.number] = .now
            StandardError.write("#\(step.number) \(step.label)\n")
        case .stepFinished(let step, let status, let seconds, _):
            switch status {
            case .cached: StandardError.write("#\(step.number) CACHED\n")
            case .executed, .metadata: StandardError.write("#\(step.number) DONE \(seconds.secondsText)\n")
            }
        case .output(let step, let line, _):
            let elapsed = started[step.number].map { (ContinuousClock.now - $0) } ?? .zero
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            StandardError.write("#\(step.number) \(String(format: "%.3f", seconds)) \(line)\n")
        case .transfer(let step, let progress):
            guard progress.completedBytes == progress.totalBytes, !progress.skipped else { return }
            let prefix = step.map { "#\($0.number) " } ?? ""
            StandardError.write("\(prefix)fetched \(progress.digest) \(ByteCountFormatter.string(fromByteCount: progress.totalBytes, countStyle: .binary))\n")
        case .warning(let message):
            StandardError.write("WARNING: \(message)\n")
        case .info(let message):
            StandardError.write("\(message)\n")
        }
    }

    mutating func finish() {}
}
