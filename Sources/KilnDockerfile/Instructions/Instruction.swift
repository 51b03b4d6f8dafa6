/// One typed Dockerfile instruction.
///
/// Encodes as the instruction's own fields plus `"instruction": "RUN"` (uppercased keyword)
/// in the same object, e.g. `{"instruction": "USER", "source": {…}, "user": "app", …}`.
public enum Instruction: Sendable, Hashable, Encodable {
    /// `FROM` (also the stage header).
    case from(FromInstruction)
    /// `RUN`.
    case run(RunInstruction)
    /// `CMD`.
    case cmd(CmdInstruction)
    /// `LABEL`.
    case label(LabelInstruction)
    /// `MAINTAINER`.
    case maintainer(MaintainerInstruction)
    /// `EXPOSE`.
    case expose(ExposeInstruction)
    /// `ENV`.
    case env(EnvInstruction)
    /// `ADD`.
    case add(AddInstruction)
    /// `COPY`.
    case copy(CopyInstruction)
    /// `ENTRYPOINT`.
    case entrypoint(EntrypointInstruction)
    /// `VOLUME`.
    case volume(VolumeInstruction)
    /// `USER`.
    case user(UserInstruction)
    /// `WORKDIR`.
    case workdir(WorkdirInstruction)
    /// `ARG`.
    case arg(ArgInstruction)
    /// `ONBUILD`.
    case onbuild(OnbuildInstruction)
    /// `STOPSIGNAL`.
    case stopSignal(StopSignalInstruction)
    /// `HEALTHCHECK`.
    case healthcheck(HealthcheckInstruction)
    /// `SHELL`.
    case shell(ShellInstruction)

    /// Every keyword Kiln knows, uppercased.
    public static let keywords = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    /// Types a parser node. Errors carry the node's (or the flag's/argument's) location;
    /// callers add the source line (``Dockerfile/init(parsed:)`` does).
    public init(node: Node) throws(DockerfileError) {
        switch node.keyword {
        case "from": self = .from(try FromInstruction(node: node))
        case "run": self = .run(try RunInstruction(node: node))
        case "cmd": self = .cmd(try CmdInstruction(node: node))
        case "label": self = .label(try LabelInstruction(node: node))
        case "maintainer": self = .maintainer(try MaintainerInstruction(node: node))
        case "expose": self = .expose(try ExposeInstruction(node: node))
        case "env": self = .env(try EnvInstruction(node: node))
        case "add": self = .add(try AddInstruction(node: node))
        case "copy": self = .copy(try CopyInstruction(node: node))
        case "entrypoint": self = .entrypoint(try EntrypointInstruction(node: node))
        case "volume": self = .volume(try VolumeInstruction(node: node))
        case "user": self = .user(try UserInstruction(node: node))
        case "workdir": self = .workdir(try WorkdirInstruction(node: node))
        case "arg": self = .arg(try ArgInstruction(node: node))
        case "onbuild": self = .onbuild(try OnbuildInstruction(node: node))
        case "stopsignal": self = .stopSignal(try StopSignalInstruction(node: node))
        case "healthcheck": self = .healthcheck(try HealthcheckInstruction(node: node))
        case "shell": self = .shell(try ShellInstruction(node: node))
        default:
            throw DockerfileError("unknown instruction: \(node.keywordAsWritten.uppercased())", at: node.location,
                                  suggestion: SpellingSuggestion.closest(to: node.keyword, in: Self.keywords))
        }
    }

    /// The uppercased keyword (`RUN`).
    public var keyword: String { source.node.keyword.uppercased() }

    /// Where the instruction was written.
    public var source: InstructionSource {
        switch self {
        case .from(let i): i.source
        case .run(let i): i.source
        case .cmd(let i): i.source
        case .label(let i): i.source
        case .maintainer(let i): i.source
        case .expose(let i): i.source
        case .env(let i): i.source
        case .add(let i): i.source
        case .copy(let i): i.source
        case .entrypoint(let i): i.source
        case .volume(let i): i.source
        case .user(let i): i.source
        case .workdir(let i): i.source
        case .arg(let i): i.source
        case .onbuild(let i): i.source
        case .stopSignal(let i): i.source
        case .healthcheck(let i): i.source
        case .shell(let i): i.source
        }
    }

    /// Where the keyword starts.
    public var location: SourceLocation { source.location }

    private var payload: any Encodable {
        switch self {
        case .from(let i): i
        case .run(let i): i
        case .cmd(let i): i
        case .label(let i): i
        case .maintainer(let i): i
        case .expose(let i): i
        case .env(let i): i
        case .add(let i): i
        case .copy(let i): i
        case .entrypoint(let i): i
        case .volume(let i): i
        case .user(let i): i
        case .workdir(let i): i
        case .arg(let i): i
        case .onbuild(let i): i
        case .stopSignal(let i): i
        case .healthcheck(let i): i
        case .shell(let i): i
        }
    }

    private enum CodingKeys: String, CodingKey { case instruction }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keyword, forKey: .instruction)
    }
}
