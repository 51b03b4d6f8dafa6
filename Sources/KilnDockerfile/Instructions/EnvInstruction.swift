/// `ENV k=v …` (or legacy `ENV k v`): environment of the stage and of the image.
///
/// All values of one instruction are expanded with the environment as it was *before* it,
/// as BuildKit does (`ENV a=1 b=$a` gives `b` the previous `a`).
public struct EnvInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The variables in order.
    public var variables: [KeyValuePair]

    /// Parses an `ENV` node.
    public init(node: Node) throws(DockerfileError) {
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        variables = try KeyValuePair.fromTriples(node, instruction: "ENV")
    }
}
