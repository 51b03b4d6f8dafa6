/// `CMD <command>`: the image's default command (not expanded by the builder).
public struct CmdInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The command; an empty exec form (`CMD []`) clears it.
    public var command: CommandForm

    /// Parses a `CMD` node.
    public init(node: Node) throws(DockerfileError) {
        (source, command) = try CommandForm.flaglessCommand(node)
    }
}

/// `ENTRYPOINT <command>`: the image's entrypoint (not expanded by the builder).
public struct EntrypointInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The entrypoint; empty clears it.
    public var entrypoint: CommandForm

    /// Parses an `ENTRYPOINT` node.
    public init(node: Node) throws(DockerfileError) {
        (source, entrypoint) = try CommandForm.flaglessCommand(node)
    }
}

extension CommandForm {
    /// The source and command of an instruction that takes no flags (`CMD`, `ENTRYPOINT`).
    static func flaglessCommand(_ node: Node) throws(DockerfileError) -> (InstructionSource, CommandForm) {
        _ = try ParsedFlags(node: node, accepting: [])
        return (InstructionSource(node: node), CommandForm(node: node, arguments: node.arguments[...]))
    }
}
