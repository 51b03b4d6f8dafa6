/// The command of `RUN`, `CMD`, `ENTRYPOINT` and `HEALTHCHECK CMD`: shell form (one string
/// the shell interprets) or exec form (a JSON array run as is).
///
/// Encodes as `{"shell": "…"}` or `{"exec": ["…", …]}`.
public enum CommandForm: Sendable, Hashable, Encodable {
    /// `RUN echo hi`: run through the stage's `SHELL`.
    case shell(String)
    /// `RUN ["echo", "hi"]`: run directly.
    case exec([String])

    /// The command from a node's arguments: exec form when the parser found a JSON array.
    init(node: Node, arguments: ArraySlice<String>) {
        if node.isExecForm {
            self = .exec(Array(arguments))
        } else {
            // The parser gives shell form as a single string; joining keeps this total for hand-built nodes.
            self = .shell(arguments.joined(separator: " "))
        }
    }

    /// True for an empty exec form (`CMD []`) or an empty shell string.
    public var isEmpty: Bool {
        switch self {
        case .shell(let text): text.isEmpty
        case .exec(let words): words.isEmpty
        }
    }

    /// The words to run: exec words as is, shell text prefixed by `shell` (`/bin/sh -c` by default).
    public func arguments(shell: [String] = ["/bin/sh", "-c"]) -> [String] {
        switch self {
        case .shell(let text): shell + [text]
        case .exec(let words): words
        }
    }

    private enum CodingKeys: String, CodingKey { case shell, exec }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shell(let text): try container.encode(text, forKey: .shell)
        case .exec(let words): try container.encode(words, forKey: .exec)
        }
    }
}

/// One `key=value` of `ENV` or `LABEL` (and an `ARG` with a default).
public struct KeyValuePair: Sendable, Hashable, Encodable {
    /// The name, as written (before expansion) or expanded (after).
    public var key: String
    /// The value, quotes kept before expansion and removed after.
    public var value: String

    /// Creates a pair.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Pairs from the parser's `key value separator` triples.
    static func fromTriples(_ node: Node, instruction: String) throws(DockerfileError) -> [KeyValuePair] {
        let args = node.arguments
        guard !args.isEmpty else {
            throw DockerfileError("\(instruction) requires at least one argument", at: node.location)
        }
        guard args.count % 3 == 0 else {
            throw DockerfileError("\(instruction) must have two arguments", at: node.location)
        }
        var pairs: [KeyValuePair] = []
        for start in stride(from: 0, to: args.count, by: 3) {
            guard !args[start].isEmpty else {
                let location = node.argumentLocations.indices.contains(start) ? node.argumentLocations[start] : node.location
                throw DockerfileError("\(instruction) names can not be blank", at: location)
            }
            pairs.append(KeyValuePair(key: args[start], value: args[start + 1]))
        }
        return pairs
    }
}
