/// A Dockerfile as typed instructions grouped into stages: the input of a build plan.
///
/// Build it from the parser's output with ``init(parsed:)``, then call
/// ``plan(_:)`` with the build's arguments, target and platforms.
///
/// JSON shape (`kiln debug parse --format json`), keys always present unless noted:
/// ```
/// { "directives": {"escape": "\\", "syntax"?: "…", "check"?: "…"},
///   "globalArgs": [ARG instruction, …],
///   "stages": [ { "index": 0, "name"?: "build",
///                 "base": {"image": "alpine"} | {"scratch": true} | {"stage": 0},
///                 "from": FROM instruction, "instructions": [instruction, …] } ],
///   "warnings": [ {"message": "…", "line"?: 3, "column"?: 1} ] }
/// ```
/// Every instruction is an object with `"instruction": "RUN"` (uppercased keyword),
/// `"source": {"keyword", "line", "column", "startLine", "endLine", "original"}` and its typed
/// fields (see each `…Instruction` type; optional fields are omitted when unset).
public struct Dockerfile: Sendable, Hashable, Encodable {
    /// `ARG`s before the first `FROM`: visible in `FROM` lines, and in a stage only when redeclared.
    public var globalArgs: [ArgInstruction]
    /// The stages in file order.
    public var stages: [Stage]
    /// The parser directives.
    public var directives: ParserDirectives
    /// Parser warnings.
    public var warnings: [DockerfileWarning]
    /// The physical lines, for rendering diagnostics found later (expansion, plan).
    public var sourceLines: [String]

    /// Types every instruction of a parsed Dockerfile and groups them into stages.
    ///
    /// Errors: any instruction error, an instruction other than `ARG` before the first `FROM`,
    /// no `FROM` at all, a duplicate stage name.
    public init(parsed: ParsedDockerfile) throws(DockerfileError) {
        directives = parsed.directives
        warnings = parsed.warnings
        sourceLines = parsed.sourceLines
        var globalArgs: [ArgInstruction] = []
        var stages: [Stage] = []
        var namedAt: [String: Int] = [:]
        do throws(DockerfileError) {
            for node in parsed.nodes {
                let instruction = try Instruction(node: node)
                switch instruction {
                case .from(let from):
                    if let name = from.name {
                        if namedAt[name] != nil {
                            throw DockerfileError("duplicate stage name \"\(name)\"", at: from.source.location(ofArgument: 2))
                        }
                        namedAt[name] = stages.count
                        if name == "scratch" || name == "context" {
                            // BuildKit's ReservedStageName check: a warning, the build goes on.
                            warnings.append(DockerfileWarning("'\(name)' is reserved and should not be used as a stage name",
                                                              at: from.source.location(ofArgument: 2)))
                        }
                    }
                    stages.append(Stage(index: stages.count, name: from.name, from: from, instructions: [], base: .image(from.base)))
                case .arg(let arg) where stages.isEmpty:
                    globalArgs.append(arg)
                default:
                    guard !stages.isEmpty else {
                        throw DockerfileError("no build stage in current context", at: node.location,
                                              suggestion: "FROM <image> before \(instruction.keyword)")
                    }
                    stages[stages.count - 1].instructions.append(instruction)
                }
            }
            guard !stages.isEmpty else {
                throw DockerfileError("dockerfile contains no stages to build", at: parsed.nodes.first?.location)
            }
        } catch {
            throw error.withSourceLine(from: parsed.sourceLines)
        }
        self.globalArgs = globalArgs
        self.stages = stages
        // The static view resolves bases with the ARG defaults (keeping the text as written when
        // that fails); plans redo it with the real build args.
        if let scope = try? GlobalScope(dockerfile: self, options: BuildOptions()) {
            for index in self.stages.indices {
                if let base = try? scope.base(of: self.stages[index], in: self) { self.stages[index].base = base }
            }
        }
    }

    /// Parses and types Dockerfile text: the entry point for `kiln debug parse` and builds.
    public init(parsing text: String) throws(DockerfileError) {
        try self.init(parsed: try DockerfileParser.parse(text))
    }

    /// Parses and types Dockerfile bytes (BOM and CRLF handled by the parser).
    public init(parsing bytes: some Collection<UInt8>) throws(DockerfileError) {
        try self.init(parsed: try DockerfileParser.parse(bytes))
    }

    /// The stage with this name (case-insensitive), if any.
    public func stage(named name: String) -> Stage? {
        let lowered = name.lowercased()
        return stages.first { $0.name == lowered }
    }

    private enum CodingKeys: String, CodingKey { case directives, globalArgs, stages, warnings }
    private enum DirectiveKeys: String, CodingKey { case escape, syntax, check }
    private enum WarningKeys: String, CodingKey { case message, line, column }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var directivesContainer = container.nestedContainer(keyedBy: DirectiveKeys.self, forKey: .directives)
        try directivesContainer.encode(String(directives.escapeToken), forKey: .escape)
        try directivesContainer.encodeIfPresent(directives.syntax, forKey: .syntax)
        try directivesContainer.encodeIfPresent(directives.check, forKey: .check)
        try container.encode(globalArgs, forKey: .globalArgs)
        try container.encode(stages, forKey: .stages)
        var warningsContainer = container.nestedUnkeyedContainer(forKey: .warnings)
        for warning in warnings {
            var item = warningsContainer.nestedContainer(keyedBy: WarningKeys.self)
            try item.encode(warning.message, forKey: .message)
            try item.encodeIfPresent(warning.location?.line, forKey: .line)
            try item.encodeIfPresent(warning.location?.column, forKey: .column)
        }
    }
}
