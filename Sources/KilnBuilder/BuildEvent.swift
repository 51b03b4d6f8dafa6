import Foundation
import KilnDistribution

/// One step as progress displays name it: `#4 [build 2/5] RUN make`.
public struct StepIdentity: Sendable, Hashable, Codable {
    /// Build-wide step number, from 1, in plan order.
    public var number: Int
    /// The stage's display name (its `AS` name, else `stage-N` as BuildKit shows it).
    public var stage: String
    /// Position within the stage, `FROM` being 1.
    public var position: Int
    /// Instructions in the stage, `FROM` included.
    public var stageSteps: Int
    /// The instruction as written (`RUN make`), shortened to one line.
    public var text: String

    /// Creates an identity.
    public init(number: Int, stage: String, position: Int, stageSteps: Int, text: String) {
        self.number = number
        self.stage = stage
        self.position = position
        self.stageSteps = stageSteps
        self.text = text
    }
}

/// How a step got its result.
public enum StepCacheStatus: String, Sendable, Hashable, Codable {
    /// Found in the cache; nothing ran.
    case cached
    /// Executed.
    case executed
    /// Changes the config only (ENV, LABEL, …): never cached, never runs anything.
    case metadata
}

/// What the builder reports while it works, in the order things happen (output lines of
/// concurrent stages interleave). Renderers in the `kiln` executable turn these into text.
public enum BuildEvent: Sendable {
    /// A step began (for a cached step, immediately followed by its `stepFinished`).
    case stepStarted(StepIdentity)
    /// A step ended; `layerSize` is nil when it made no layer.
    case stepFinished(StepIdentity, status: StepCacheStatus, seconds: Double, layerSize: Int64?)
    /// A line a RUN step printed.
    case output(StepIdentity, line: String, isError: Bool)
    /// A blob transfer (base image layers) moved.
    case transfer(StepIdentity?, TransferProgress)
    /// Something the user should know that does not stop the build.
    case warning(String)
    /// A note on what the build did (`exported to …`).
    case info(String)
}

/// Where events go: called from any task; must not block.
public typealias BuildEventSink = @Sendable (BuildEvent) -> Void
