/// Variables in the order they were first set, as an image config's `Env` lists them;
/// setting an existing name replaces its value in place.
public struct OrderedEnvironment: Sendable, Hashable, Encodable {
    /// The variables in order.
    public private(set) var pairs: [KeyValuePair]

    /// Creates an environment from pairs (later duplicates replace earlier ones).
    public init(_ pairs: [KeyValuePair] = []) {
        self.pairs = []
        for pair in pairs { self[pair.key] = pair.value }
    }

    /// Creates an environment from image config `Env` entries (`NAME=value`; no `=` means empty).
    public init(imageConfigEnv entries: [String]) {
        self.init(entries.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return KeyValuePair(key: String(parts[0]), value: parts.count == 2 ? String(parts[1]) : "")
        })
    }

    /// The value of `name`, or sets it (appending a new name at the end).
    public subscript(name: String) -> String? {
        get { pairs.first { $0.key == name }?.value }
        set {
            let index = pairs.firstIndex { $0.key == name }
            switch (index, newValue) {
            case (let i?, let value?): pairs[i].value = value
            case (nil, let value?): pairs.append(KeyValuePair(key: name, value: value))
            case (let i?, nil): pairs.remove(at: i)
            case (nil, nil): break
            }
        }
    }

    /// The variables as a dictionary (for expansion and process environments).
    public var dictionary: [String: String] {
        Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// `NAME=value` entries, as an image config's `Env` holds them.
    public var imageConfigEnv: [String] { pairs.map { "\($0.key)=\($0.value)" } }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(imageConfigEnv)
    }
}
