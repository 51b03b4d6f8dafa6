/// `ONBUILD <instruction>`: a trigger stored in the image, run by builds that use it as a base.
///
/// The trigger text is stored as written, never expanded; only its keyword is checked here,
/// as in BuildKit (the trigger is fully parsed when it fires).
public struct OnbuildInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The trigger's keyword, uppercased (`RUN`).
    public var trigger: String
    /// The trigger instruction as stored in the image config (`RUN echo hi`), heredoc bodies appended.
    public var expression: String

    /// Parses an `ONBUILD` node.
    public init(node: Node) throws(DockerfileError) {
        guard let nested = node.nested else {
            throw DockerfileError("ONBUILD requires at least one argument", at: node.location)
        }
        _ = try ParsedFlags(node: node, accepting: [])
        let trigger = nested.keyword.uppercased()
        switch trigger {
        case "ONBUILD":
            throw DockerfileError("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", at: nested.location)
        case "FROM", "MAINTAINER":
            throw DockerfileError("\(trigger) isn't allowed as an ONBUILD trigger", at: nested.location)
        default:
            break
        }
        source = InstructionSource(node: node)
        self.trigger = trigger
        var expression = Self.strippingKeyword(node.original)
        for heredoc in nested.heredocs {
            expression += "\n" + heredoc.content + heredoc.name
        }
        self.expression = expression
    }

    /// `original` without the leading `ONBUILD` and the blanks after it (case-insensitive).
    private static func strippingKeyword(_ original: String) -> String {
        var rest = Substring(original).drop { $0 == " " || $0 == "\t" }
        if rest.prefix(7).lowercased() == "onbuild" { rest = rest.dropFirst(7) }
        return String(rest.drop { $0 == " " || $0 == "\t" })
    }
}
