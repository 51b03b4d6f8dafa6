/// One line a step printed.
public struct OutputLine: Sendable, Equatable {
    /// Which stream the line came from.
    public enum Stream: Sendable, Equatable {
        /// Standard output.
        case stdout
        /// Standard error (also where the runtime reports its own failures).
        case stderr
    }

    /// The stream.
    public var stream: Stream
    /// The line without its terminator.
    public var text: String

    /// Creates a line.
    public init(stream: Stream, text: String) {
        self.stream = stream
        self.text = text
    }
}

/// How a step ended.
public struct ExecutionResult: Sendable, Equatable {
    /// The command's exit status; 128+N when it was killed by signal N.
    public var exitStatus: Int32
    /// The last lines of output (both streams, in arrival order), for error messages.
    public var lastLines: [OutputLine]
    /// Container paths the executor created in the rootfs as mount points. They are not the
    /// step's doing: the executor removes them again after the run when they are still empty,
    /// and the snapshotter ignores any of them it still finds empty.
    public var createdMountTargets: [String]
    /// Entries of the image Kiln moved aside for the step and put back unchanged (container
    /// paths; chroot isolation, where what runc would mount over them is placed in their
    /// stead): only their ctime moved, which the layer diff is to ignore.
    public var movedEntries: [String] = []
    /// The container id used.
    public var containerID: String

    /// Whether the command succeeded.
    public var succeeded: Bool { exitStatus == 0 }
}

/// Keeps the last `capacity` lines.
actor OutputTail {
    private let capacity: Int
    private var lines: [OutputLine] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    func append(_ line: OutputLine) {
        lines.append(line)
        if lines.count > capacity { lines.removeFirst(lines.count - capacity) }
    }

    var snapshot: [OutputLine] { lines }
}
