/// `LABEL k=v …` (or legacy `LABEL k v`): image labels, keys and values expanded.
public struct LabelInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The labels in order.
    public var labels: [KeyValuePair]

    /// Parses a `LABEL` node.
    public init(node: Node) throws(DockerfileError) {
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        labels = try KeyValuePair.fromTriples(node, instruction: "LABEL")
    }
}
