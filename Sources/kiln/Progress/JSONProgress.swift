import Foundation
import KilnBuilder

/// `--progress json`: one JSON object per line, on standard error.
///
/// Shapes (`step` is `{"number","stage","position","stageSteps","text"}`):
/// `{"type":"step-started","step":…}`,
/// `{"type":"step-finished","step":…,"status":"cached|executed|metadata","seconds":0.4,"layerSize"?:123}`,
/// `{"type":"output","step":…,"line":"…","stream":"stdout|stderr"}`,
/// `{"type":"transfer","step"?:…,"digest":"sha256:…","completed":1,"total":2,"skipped":false}`,
/// `{"type":"warning","message":"…"}`, `{"type":"info","message":"…"}`.
struct JSONProgress: ProgressRenderer {
    private struct Line: Encodable {
        var type: String
        var step: StepIdentity?
        var status: StepCacheStatus?
        var seconds: Double?
        var layerSize: Int64?
        var line: String?
        var stream: String?
        var digest: String?
        var completed: Int64?
        var total: Int64?
        var skipped: Bool?
        var message: String?
    }

    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    mutating func render(_ event: BuildEvent) {
        var line = Line(type: "")
        switch event {
        case .stepStarted(let step):
            line.type = "step-started"
            line.step = step
        case .stepFinished(let step, let status, let seconds, let layerSize):
            line.type = "step-finished"
            line.step = step
            line.status = status
            line.seconds = (seconds * 1000).rounded() / 1000
            line.layerSize = layerSize
        case .output(let step, let text, let isError):
            line.type = "output"
            line.step = step
            line.line = text
            line.stream = isError ? "stderr" : "stdout"
        case .transfer(let step, let progress):
            line.type = "transfer"
            line.step = step
            line.digest = progress.digest.description
            line.completed = progress.completedBytes
            line.total = progress.totalBytes
            line.skipped = progress.skipped
        case .warning(let message):
            line.type = "warning"
            line.message = message
        case .info(let message):
            line.type = "info"
            line.message = message
        }
        guard let data = try? encoder.encode(line) else { return }
        StandardError.write(String(decoding: data, as: UTF8.self) + "\n")
    }

    mutating func finish() {}
}
