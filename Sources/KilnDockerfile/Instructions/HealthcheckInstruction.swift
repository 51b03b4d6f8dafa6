/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval] [--timeout] [--start-period] [--start-interval] [--retries] CMD <command>`.
///
/// The command is not expanded by the builder. Durations are Go durations, kept in nanoseconds
/// (0 = inherit the default), as the image config stores them.
public struct HealthcheckInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The test command; `nil` for `HEALTHCHECK NONE` (disables an inherited check).
    public var command: CommandForm?
    /// `--interval` in nanoseconds.
    public var interval: Int64
    /// `--timeout` in nanoseconds.
    public var timeout: Int64
    /// `--start-period` in nanoseconds.
    public var startPeriod: Int64
    /// `--start-interval` in nanoseconds.
    public var startInterval: Int64
    /// `--retries`.
    public var retries: Int

    /// The image config `Healthcheck.Test` value: `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    public var test: [String] {
        switch command {
        case nil: ["NONE"]
        case .exec(let words): ["CMD"] + words
        case .shell(let text): ["CMD-SHELL", text]
        }
    }

    /// Parses a `HEALTHCHECK` node.
    public init(node: Node) throws(DockerfileError) {
        guard let kind = node.arguments.first?.uppercased(), !kind.isEmpty else {
            throw DockerfileError("HEALTHCHECK requires at least one argument", at: node.location)
        }
        source = InstructionSource(node: node)
        let rest = node.arguments.dropFirst()
        if kind == "NONE" {
            guard rest.isEmpty || (rest.count == 1 && rest.first!.isEmpty) else {
                throw DockerfileError("HEALTHCHECK NONE takes no arguments", at: node.location)
            }
            // BuildKit parses no flags for NONE, so flags given there are silently ignored.
            (command, interval, timeout, startPeriod, startInterval, retries) = (nil, 0, 0, 0, 0, 0)
            return
        }
        let flags = try ParsedFlags(node: node, accepting: FlagSpec.byInstruction["healthcheck"]!)
        guard kind == "CMD" else {
            throw DockerfileError("unknown type \"\(kind)\" in HEALTHCHECK (try CMD)", at: node.argumentLocations.first ?? node.location,
                                  suggestion: SpellingSuggestion.closest(to: kind, in: ["CMD", "NONE"]))
        }
        let command = CommandForm(node: node, arguments: rest)
        guard !command.isEmpty else {
            throw DockerfileError("missing command after HEALTHCHECK CMD", at: node.location)
        }
        self.command = command
        let source = self.source
        func duration(_ name: String) throws(DockerfileError) -> Int64 {
            guard let text = flags.string(name), !text.isEmpty else { return 0 }
            let value: Int64
            do throws(GoDuration.ParseError) {
                value = try GoDuration.nanoseconds(text)
            } catch {
                throw DockerfileError(error.message, at: source.location(ofFlag: name))
            }
            // Docker's container.MinimumDuration is 1ms; 0 means "use the default".
            if value != 0 && value < 1_000_000 {
                throw DockerfileError("interval \"\(name)\" cannot be less than 1ms", at: source.location(ofFlag: name))
            }
            return value
        }
        interval = try duration("interval")
        timeout = try duration("timeout")
        startPeriod = try duration("start-period")
        startInterval = try duration("start-interval")
        if let text = flags.string("retries"), !text.isEmpty {
            guard let value = Int32(text) else {
                throw DockerfileError("invalid value for --retries: \(text)", at: source.location(ofFlag: "retries"))
            }
            guard value >= 0 else {
                throw DockerfileError("--retries cannot be negative (\(value))", at: source.location(ofFlag: "retries"))
            }
            retries = Int(value)
        } else {
            retries = 0
        }
    }

    private enum CodingKeys: String, CodingKey {
        case source, command, test, interval, timeout, startPeriod, startInterval, retries
    }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encodeIfPresent(command, forKey: .command)
        try container.encode(test, forKey: .test)
        try container.encode(interval, forKey: .interval)
        try container.encode(timeout, forKey: .timeout)
        try container.encode(startPeriod, forKey: .startPeriod)
        try container.encode(startInterval, forKey: .startInterval)
        try container.encode(retries, forKey: .retries)
    }
}
