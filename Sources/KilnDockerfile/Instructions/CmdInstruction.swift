/// `CMD <command>`: the image's default command (not expanded by the builder).
public struct CmdInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The command; an empty exec form (`CMD []`) clears it.
    public var command: CommandForm

    /// Parses a `CMD` node.
    public init(node: Node) throws(DockerfileError) {
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        command = CommandForm(node: node, arguments: node.arguments[...])
    }
}

/// `ENTRYPOINT <command>`: the image's entrypoint (not expanded by the builder).
public struct EntrypointInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The entrypoint; empty clears it.
    public var command: CommandForm

    /// Parses an `ENTRYPOINT` node.
    public init(node: Node) throws(DockerfileError) {
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        command = CommandForm(node: node, arguments: node.arguments[...])
    }
}
