/// `key=value,key=value`: the comma-separated form of BuildKit-style flags (`--output`,
/// `--secret`, …). A later key wins over an earlier one; empty fields are skipped.
public struct KeyValueFields: Sendable, Hashable {
    /// The fields not taken yet.
    public private(set) var values: [String: String]

    /// Splits `text`; a field without `=` is an error.
    public init(parsing text: String) throws(KeyValueFieldsError) {
        var values: [String: String] = [:]
        for field in text.split(separator: ",") {
            guard let equals = field.firstIndex(of: "=") else { throw KeyValueFieldsError(field: String(field)) }
            values[String(field[..<equals])] = String(field[field.index(after: equals)...])
        }
        self.values = values
    }

    /// Removes and returns `key`'s value, so that what is left over can be reported as unknown.
    public mutating func take(_ key: String) -> String? {
        values.removeValue(forKey: key)
    }

    /// The keys not taken, sorted: the first is the one to name in an "unknown key" error.
    public var remainingKeys: [String] { values.keys.sorted() }
}

/// A field of a `key=value,…` flag that has no `=`.
public struct KeyValueFieldsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field as written.
    public var field: String
    /// `"dest" is not KEY=VALUE`.
    public var description: String { "\"\(field)\" is not KEY=VALUE" }
}
