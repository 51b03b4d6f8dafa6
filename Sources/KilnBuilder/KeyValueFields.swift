/// `key=value,key=value`: the one grammar of BuildKit-style flags (`--output`, `--secret`, …),
/// with BuildKit's rules: the value is one CSV record (a field that starts with `"` is quoted, so
/// it may hold commas, and `""` inside it is a quote; a `"` anywhere else is an error), each
/// field splits at its first `=`, and the key is lowercased with blanks around it trimmed. A later
/// key wins over an earlier one; empty fields are skipped.
public struct KeyValueFields: Sendable, Hashable {
    /// The fields not taken yet.
    public private(set) var values: [String: String]

    /// Splits `text`; a field without `=`, or with a misplaced quote, is an error.
    public init(parsing text: String) throws(KeyValueFieldsError) {
        var values: [String: String] = [:]
        for field in try Self.record(text) where !field.isEmpty {
            guard let equals = field.firstIndex(of: "=") else { throw KeyValueFieldsError(field: field) }
            let key = field[..<equals].trimmingBlanks.lowercased()
            values[key] = String(field[field.index(after: equals)...])
        }
        self.values = values
    }

    /// The fields of `text` as Go's `encoding/csv` reads one record (what BuildKit's flags use).
    private static func record(_ text: String) throws(KeyValueFieldsError) -> [String] {
        var fields: [String] = []
        var remaining = Substring(text)
        while true {
            var field = ""
            if remaining.first == "\"" {
                remaining = remaining.dropFirst()
                while true {
                    guard let quote = remaining.firstIndex(of: "\"") else {
                        throw KeyValueFieldsError(field: "\"" + field + remaining, reason: "has a quote that is not closed")
                    }
                    field += remaining[..<quote]
                    remaining = remaining[remaining.index(after: quote)...]
                    guard remaining.first == "\"" else { break }
                    field += "\""
                    remaining = remaining.dropFirst()
                }
                guard remaining.isEmpty || remaining.first == "," else {
                    throw KeyValueFieldsError(field: field, reason: "is quoted but does not end at its closing quote")
                }
            } else {
                let end = remaining.firstIndex(of: ",") ?? remaining.endIndex
                field = String(remaining[..<end])
                remaining = remaining[end...]
                if field.contains("\"") {
                    throw KeyValueFieldsError(field: field, reason: "has a quote but does not start with one (quote the whole field)")
                }
            }
            fields.append(field)
            guard remaining.first == "," else { return fields }
            remaining = remaining.dropFirst()
        }
    }

    /// Removes and returns `key`'s value, so that what is left over can be reported as unknown.
    public mutating func take(_ key: String) -> String? {
        values.removeValue(forKey: key)
    }

    /// The keys not taken, sorted: the first is the one to name in an "unknown key" error.
    public var remainingKeys: [String] { values.keys.sorted() }
}

/// A field of a `key=value,…` flag that does not follow the grammar.
public struct KeyValueFieldsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field as written.
    public var field: String
    /// What is wrong with it.
    public var reason = "is not KEY=VALUE"
    /// `"dest" is not KEY=VALUE`.
    public var description: String { "\"\(field)\" \(reason)" }
}

extension Substring {
    /// Without the spaces and tabs at either end.
    fileprivate var trimmingBlanks: Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return self[first...last]
    }
}
