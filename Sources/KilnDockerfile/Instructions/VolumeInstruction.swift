import Foundation

/// `VOLUME ["/a", …]` or `VOLUME /a /b`: mount points of the image (expanded).
public struct VolumeInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The paths, trimmed.
    public var volumes: [String]

    /// Parses a `VOLUME` node.
    public init(node: Node) throws(DockerfileError) {
        guard !node.arguments.isEmpty else {
            throw DockerfileError("VOLUME requires at least one argument", at: node.location)
        }
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        volumes = try Self.trimmed(node.arguments, at: node.location)
    }

    /// Trims each path; an empty one is an error, as in BuildKit.
    static func trimmed(_ paths: [String], at location: SourceLocation) throws(DockerfileError) -> [String] {
        var result: [String] = []
        for path in paths {
            let trimmed = path.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else {
                throw DockerfileError("VOLUME specified can not be an empty string", at: location)
            }
            result.append(trimmed)
        }
        return result
    }
}
