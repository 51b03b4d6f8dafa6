/// Reads the one argument of `USER`, `WORKDIR` and `STOPSIGNAL`.
private func exactlyOneArgument(_ node: Node, _ instruction: String) throws(DockerfileError) -> String {
    guard node.arguments.count == 1, !node.arguments[0].isEmpty else {
        throw DockerfileError("\(instruction) requires exactly one argument", at: node.location)
    }
    _ = try ParsedFlags(node: node, accepting: [])
    return node.arguments[0]
}

/// `USER <user>[:<group>]`: who later instructions and the container run as (expanded).
public struct UserInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The whole `user[:group]` text.
    public var user: String

    /// Parses a `USER` node.
    public init(node: Node) throws(DockerfileError) {
        user = try exactlyOneArgument(node, "USER")
        source = InstructionSource(node: node)
    }

    /// The part before the first `:`.
    public var userName: String { String(user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]) }

    /// The part after the first `:`, if any.
    public var group: String? {
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count == 2 ? String(parts[1]) : nil
    }

    private enum CodingKeys: String, CodingKey { case source, user, userName, group }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encode(user, forKey: .user)
        try container.encode(userName, forKey: .userName)
        try container.encodeIfPresent(group, forKey: .group)
    }
}

/// `WORKDIR <path>`: the working directory, relative paths resolved against the previous one (expanded).
public struct WorkdirInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The path as written (or expanded).
    public var path: String

    /// Parses a `WORKDIR` node.
    public init(node: Node) throws(DockerfileError) {
        path = try exactlyOneArgument(node, "WORKDIR")
        source = InstructionSource(node: node)
    }
}

/// `STOPSIGNAL <signal>`: the signal that stops the container (expanded).
public struct StopSignalInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// `SIGTERM`, `TERM`, `15`, … as written (or expanded).
    public var signal: String

    /// Parses a `STOPSIGNAL` node.
    public init(node: Node) throws(DockerfileError) {
        signal = try exactlyOneArgument(node, "STOPSIGNAL")
        source = InstructionSource(node: node)
    }

    /// Checks the (expanded) signal as moby's `signal.ParseSignal` does: a non-zero number, or a
    /// Linux signal name with or without `SIG`, any case.
    public func validate() throws(DockerfileError) {
        if let number = Int(signal) {
            guard number != 0 else { throw DockerfileError("invalid signal: \(signal)", at: source.location(ofArgument: 0)) }
            return
        }
        var name = signal.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard Self.linuxSignalNames.contains(name) else {
            let known = Self.linuxSignalNames.map { "SIG" + $0 }
            throw DockerfileError("invalid signal: \(signal)", at: source.location(ofArgument: 0),
                                  suggestion: SpellingSuggestion.closest(to: signal.hasPrefix("SIG") ? signal : "SIG" + signal, in: known))
        }
    }

    /// Names in moby's Linux `SignalMap`, without the `SIG` prefix.
    static let linuxSignalNames: Set<String> = {
        var names: Set<String> = [
            "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
            "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
            "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
        ]
        for n in 1...15 { names.insert("RTMIN+\(n)"); names.insert("RTMAX-\(n)") }
        return names
    }()
}
