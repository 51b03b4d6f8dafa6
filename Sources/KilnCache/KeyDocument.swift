import Foundation
import KilnOCI

/// A JSON value as a cache key sees it: the tree a step's definition encodes to.
///
/// Keys are hashed from this tree's ``canonicalText`` rather than from whatever bytes
/// `JSONEncoder` happens to produce, so key stability depends only on this type: object
/// members sorted by name, strings quoted with every control character escaped, integers in
/// decimal. Floating-point numbers are rejected: nothing a step reads is fractional, and their
/// printing is not stable enough to hash.
public indirect enum KeyDocument: Sendable, Hashable, Codable {
    /// JSON `null` (an optional that is absent encodes as no member at all instead).
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// An integer.
    case integer(Int64)
    /// A string.
    case string(String)
    /// An array, in order.
    case array([KeyDocument])
    /// An object.
    case object([String: KeyDocument])

    /// The tree `value` encodes to.
    public init<Value: Encodable>(encoding value: Value) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONDecoder().decode(KeyDocument.self, from: data)
    }

    /// Decodes any JSON value but fractional numbers.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([KeyDocument].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: KeyDocument].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a key document value (fractional number?)")
        }
    }

    /// Encodes as plain JSON.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The one text a key hashes: compact JSON with sorted members and fully escaped strings.
    public var canonicalText: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .string(let value): out += Self.quote(value)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, name) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += Self.quote(name) + ":"
                members[name]!.write(into: &out)
            }
            out += "}"
        }
    }

    /// JSON string quoting of `value`, every control character escaped, so no value can
    /// forge structure.
    public static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The member `name` of an object; nil for anything else.
    public subscript(member name: String) -> KeyDocument? {
        if case .object(let members) = self { return members[name] }
        return nil
    }

    /// The value at a dotted `path` (`run.environment`); nil where it is absent.
    public func value(at path: String) -> KeyDocument? {
        path.split(separator: ".").reduce(Optional(self)) { $0?[member: String($1)] }
    }

    /// This tree with the member at each dotted path removed; a path runs through arrays, so
    /// `run.mounts.contents` removes that member from every mount.
    public func removing(_ paths: [String]) -> KeyDocument {
        paths.reduce(self) { $0.removing(path: $1.split(separator: ".").map(String.init)[...]) }
    }

    private func removing(path: ArraySlice<String>) -> KeyDocument {
        guard let first = path.first else { return self }
        switch self {
        case .object(var members):
            if path.count == 1 {
                members[first] = nil
            } else if let child = members[first] {
                members[first] = child.removing(path: path.dropFirst())
            }
            return .object(members)
        case .array(let values):
            return .array(values.map { $0.removing(path: path) })
        default:
            return self
        }
    }

    /// Every member path the tree holds (`run`, `run.user`, …), arrays looked through.
    public var memberPaths: Set<String> {
        var paths = Set<String>()
        collectPaths(prefix: "", into: &paths)
        return paths
    }

    private func collectPaths(prefix: String, into paths: inout Set<String>) {
        switch self {
        case .object(let members):
            for (name, value) in members {
                let path = prefix.isEmpty ? name : prefix + "." + name
                paths.insert(path)
                value.collectPaths(prefix: path, into: &paths)
            }
        case .array(let values):
            for value in values { value.collectPaths(prefix: prefix, into: &paths) }
        default:
            break
        }
    }

    /// Dotted paths whose values differ between `self` and `other`, deepest first within a
    /// branch: `run.environment`, `copy.contents`. Arrays compare as wholes.
    public func differences(from other: KeyDocument, prefix: String = "") -> [String] {
        if self == other { return [] }
        guard case .object(let mine) = self, case .object(let theirs) = other else { return [prefix] }
        var out: [String] = []
        for name in Set(mine.keys).union(theirs.keys).sorted() {
            let path = prefix.isEmpty ? name : prefix + "." + name
            switch (mine[name], theirs[name]) {
            case (let a?, let b?): out += a.differences(from: b, prefix: path)
            case (nil, nil): break
            default: out.append(path)
            }
        }
        return out
    }
}
