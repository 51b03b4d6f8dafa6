/// `SHELL ["executable", "param", …]`: the shell for later shell-form commands (exec form only).
public struct ShellInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The shell command line.
    public var shell: [String]

    /// Parses a `SHELL` node.
    public init(node: Node) throws(DockerfileError) {
        _ = try ParsedFlags(node: node, accepting: [])
        guard !node.arguments.isEmpty, !(node.arguments.count == 1 && node.arguments[0].isEmpty) else {
            throw DockerfileError("SHELL requires at least one argument", at: node.location)
        }
        guard node.isExecForm else {
            throw DockerfileError("SHELL requires the arguments to be in JSON form", at: node.argumentLocations.first ?? node.location,
                                  suggestion: "SHELL [\"executable\", \"parameters\"]")
        }
        source = InstructionSource(node: node)
        shell = node.arguments
    }
}

