/// One `--output`-style value, `type=NAME,key=value,…`, read with the one grammar
/// (``KeyValueFields``) and checked against what the command that reads it accepts: which types,
/// and which keys each type takes. Every message names the flag and the value as written.
public struct OutputFields: Sendable, Hashable {
    /// The flag, for messages (`--output`).
    public let flag: String
    /// The value as written.
    public let text: String
    /// The `type=` value, one the command accepts.
    public let type: String
    /// The other keys and their values, each one `type` takes.
    public let attributes: [String: String]

    /// Parses `text` and checks it against `accepted`: each type the command writes, with the
    /// keys it takes besides `type`. Types are listed in the order messages name them.
    public init(parsing text: String, flag: String = "--output",
                accepted: [(type: String, keys: Set<String>)]) throws(OutputFieldsError) {
        self.flag = flag
        self.text = text
        var fields: KeyValueFields
        do { fields = try KeyValueFields(parsing: text) } catch {
            throw OutputFieldsError("\(flag) \(text): \(error)")
        }
        let types = accepted.map(\.type)
        guard let type = fields.take("type") else {
            throw OutputFieldsError("\(flag) \(text): needs \(Self.alternatives(types.map { "type=\($0)" }))")
        }
        guard let keys = accepted.first(where: { $0.type == type })?.keys else {
            throw OutputFieldsError("\(flag) \(text): type must be \(Self.alternatives(types))")
        }
        if let unknown = fields.remainingKeys.first(where: { !keys.contains($0) }) {
            throw OutputFieldsError("\(flag) \(text): unknown key \"\(unknown)\" for type=\(type) (it takes \(keys.sorted().joined(separator: ", ")))")
        }
        self.type = type
        self.attributes = fields.values
    }

    /// The value of `key`, which must be there and not empty; `placeholder` says what it is
    /// (`DIR`, `FILE`) in the message.
    public func required(_ key: String, placeholder: String) throws(OutputFieldsError) -> String {
        guard let value = attributes[key], !value.isEmpty else {
            throw OutputFieldsError("\(flag) \(text): type=\(type) needs \(key)=\(placeholder)")
        }
        return value
    }

    /// The value of `key` as `true` or `false`; `defaultValue` when it is not there.
    public func bool(_ key: String, default defaultValue: Bool) throws(OutputFieldsError) -> Bool {
        guard let value = attributes[key] else { return defaultValue }
        guard let bool = Bool(value) else { throw OutputFieldsError("\(flag) \(text): \(key) must be true or false") }
        return bool
    }

    /// `a`, `a or b`, `a, b or c`.
    private static func alternatives(_ words: [String]) -> String {
        words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!
    }
}

/// A `--output`-style value the command cannot use; the message names the flag and the value.
public struct OutputFieldsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The whole message.
    public var description: String

    init(_ description: String) { self.description = description }
}
