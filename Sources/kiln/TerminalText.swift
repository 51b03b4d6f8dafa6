import ArgumentParser
import Foundation
import KilnBuilder

/// Text that came from input (a Dockerfile, a tag, a file name, a step's output, a registry's
/// error body) made safe to show on a terminal: every control character but the line break
/// and the tab is written as an escape (`\x1b`, `\u{202e}`), so no input can move the
/// cursor, set a window title, write the clipboard or reorder what is shown.
///
/// Everything `kiln` prints goes through here: errors (``Kiln/main()``), progress events
/// (``ProgressDisplay``) and the summary of a build. It is the one place that decides it.
enum TerminalText {
    /// `text` with every C0 control but `\n` and `\t`, DEL, every C1 control and the Unicode
    /// bidirectional formatting characters escaped.
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x09:
                result.unicodeScalars.append(scalar)
            case 0x00..<0x20, 0x7F, 0x80..<0xA0:
                result += "\\x" + String(format: "%02x", scalar.value)
            case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Prints `value` to standard output, escaped: what commands print quotes input too
    /// (tags, paths, the instruction text of cache entries).
    static func print<Value>(_ value: Value) {
        Swift.print(escaped("\(value)"))
    }

    /// One line of a step's output as a terminal would leave it: a carriage return (progress
    /// bars) starts the line over, so only the text after the last one that is followed by
    /// something is kept; then escaped like any text.
    static func outputLine(_ line: String) -> String {
        let segments = line.split(separator: "\r", omittingEmptySubsequences: true)
        return escaped(segments.last.map(String.init) ?? "")
    }
}

extension BuildEvent {
    /// The event with every text in it made safe for a terminal by ``TerminalText``.
    var terminalSafe: BuildEvent {
        switch self {
        case .stepStarted(let step):
            return .stepStarted(step.terminalSafe)
        case .stepFinished(let step, let status, let seconds, let layerSize):
            return .stepFinished(step.terminalSafe, status: status, seconds: seconds, layerSize: layerSize)
        case .output(let step, let line, let isError):
            return .output(step.terminalSafe, line: TerminalText.outputLine(line), isError: isError)
        case .transfer(let step, let progress):
            return .transfer(step?.terminalSafe, progress)
        case .warning(let message):
            return .warning(TerminalText.escaped(message))
        case .info(let message):
            return .info(TerminalText.escaped(message))
        }
    }
}

extension StepIdentity {
    /// The identity with its Dockerfile text and stage name escaped.
    var terminalSafe: StepIdentity {
        var step = self
        step.text = TerminalText.escaped(text)
        step.stage = TerminalText.escaped(stage)
        return step
    }
}
