/// `ARG name[=default] …`: declares build arguments (names and defaults expanded).
public struct ArgInstruction: Sendable, Hashable, Encodable {
    /// One declared argument.
    public struct Argument: Sendable, Hashable, Encodable {
        /// The name.
        public var name: String
        /// The default, quotes kept until expanded; `nil` for `ARG name`.
        public var defaultValue: String?

        /// Creates an argument.
        public init(name: String, defaultValue: String? = nil) {
            self.name = name
            self.defaultValue = defaultValue
        }
    }

    /// Where it was written.
    public var source: InstructionSource
    /// The arguments in order.
    public var arguments: [Argument]

    /// Parses an `ARG` node.
    public init(node: Node) throws(DockerfileError) {
        guard !node.arguments.isEmpty else {
            throw DockerfileError("ARG requires at least one argument", at: node.location)
        }
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        var arguments: [Argument] = []
        for (index, word) in node.arguments.enumerated() {
            if let equals = word.firstIndex(of: "=") {
                guard equals != word.startIndex else {
                    throw DockerfileError("ARG names can not be blank", at: source.location(ofArgument: index))
                }
                arguments.append(Argument(name: String(word[..<equals]), defaultValue: String(word[word.index(after: equals)...])))
            } else {
                arguments.append(Argument(name: word))
            }
        }
        self.arguments = arguments
    }
}
