/// `MAINTAINER <name>` (deprecated): sets the image author.
public struct MaintainerInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The author text, not expanded.
    public var maintainer: String

    /// Parses a `MAINTAINER` node.
    public init(node: Node) throws(DockerfileError) {
        guard node.arguments.count == 1 else {
            throw DockerfileError("MAINTAINER requires exactly one argument", at: node.location)
        }
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        maintainer = node.arguments[0]
    }
}
