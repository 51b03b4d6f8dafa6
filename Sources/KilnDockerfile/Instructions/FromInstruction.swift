/// `FROM [--platform=<platform>] <image> [AS <name>]`: starts a stage.
public struct FromInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The base: an image reference, `scratch`, or an earlier stage's name (unexpanded until evaluated).
    public var base: String
    /// The stage name after `AS`, lowercased as BuildKit does; `nil` when unnamed.
    public var name: String?
    /// `--platform`, unexpanded until evaluated.
    public var platform: String?

    /// Parses a `FROM` node.
    public init(node: Node) throws(DockerfileError) {
        let flags = try ParsedFlags(node: node, accepting: FlagSpec.byInstruction["from"]!)
        let args = node.arguments
        switch args.count {
        case 1:
            name = nil
        case 3 where args[1].lowercased() == "as":
            let lowered = args[2].lowercased()
            guard Self.isValidStageName(lowered) else {
                throw DockerfileError(
                    "invalid name for build stage: \"\(args[2])\", name can't start with a number or contain symbols",
                    at: node.argumentLocations.indices.contains(2) ? node.argumentLocations[2] : node.location)
            }
            name = lowered
        default:
            throw DockerfileError("FROM requires either one or three arguments", at: node.location)
        }
        source = InstructionSource(node: node)
        base = args[0]
        platform = flags.string("platform")
    }

    /// BuildKit's rule for stage names: `^[a-z][a-z0-9-_.]*$` (after lowercasing).
    public static func isValidStageName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, ("a"..."z").contains(first) else { return false }
        return scalars.dropFirst().allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }
}
