import Foundation

/// A constraint of the OCI JSON schemas (or of upstream's extra checks) that a decoded document breaks.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the document, as a JSON-ish path (`layers[1].digest`, `config.Env[0]`).
    public var field: String
    /// What is wrong with it.
    public var reason: String

    /// Creates an error for `field`.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// The text form shown to users.
    public var description: String { "\(field): \(reason)" }

    /// The same error seen from a containing document, so the path names the whole way down.
    func nested(in parent: String) -> ValidationError {
        ValidationError(field: field.hasPrefix("[") ? parent + field : "\(parent).\(field)", reason: reason)
    }
}

/// Why bytes could not be read as an OCI document.
public enum DocumentError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not JSON, or JSON whose shape or types do not fit the document type.
    case malformed(String)
    /// Decoded, but breaks a constraint of the spec.
    case invalid(ValidationError)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .malformed(let detail): return "malformed document: \(detail)"
        case .invalid(let error): return "invalid document: \(error)"
        }
    }
}

extension DocumentError {
    /// A one-line account of a decoding failure naming the field, instead of Foundation's dump.
    static func describe(_ error: any Error) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "document" : String(text.drop(while: { $0 == "." }))
        }
        guard let decodingError = error as? DecodingError else { return String(describing: error) }
        switch decodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): missing \(type) value"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return String(describing: decodingError)
        }
    }
}
