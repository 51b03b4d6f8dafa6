/// A parsed `WWW-Authenticate` challenge (RFC 9110 §11.6.1): `Basic realm="…"` or
/// `Bearer realm="…",service="…",scope="…"`.
struct AuthChallenge: Sendable, Hashable {
    /// The scheme, lowercased (`basic`, `bearer`).
    var scheme: String
    /// The auth-params, keys lowercased.
    var parameters: [String: String]

    /// The token endpoint of a bearer challenge.
    var realm: String? { parameters["realm"] }
    /// The `service` the token is for.
    var service: String? { parameters["service"] }
    /// The scopes the registry asked for, space-separated in the header.
    var scopes: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }

    /// Parses the first challenge of a header value; nil when it has no scheme.
    init?(parsing header: String) {
        var scanner = Substring(header).drop { $0 == " " }
        let scheme = scanner.prefix { $0 != " " && $0 != "," }
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme.lowercased()
        scanner = scanner.dropFirst(scheme.count)
        var parameters: [String: String] = [:]
        while true {
            scanner = scanner.drop { $0 == " " || $0 == "," }
            guard let equals = scanner.firstIndex(of: "=") else { break }
            let key = scanner[..<equals].trimmingSpaces.lowercased()
            // A key with a space in it is the next challenge's scheme; this challenge has ended.
            if key.contains(" ") || key.isEmpty { break }
            scanner = scanner[scanner.index(after: equals)...]
            var value = ""
            if scanner.first == "\"" {
                scanner = scanner.dropFirst()
                var escaped = false
                var end = scanner.endIndex
                for index in scanner.indices {
                    let character = scanner[index]
                    if escaped { value.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { end = index; break }
                    value.append(character)
                }
                scanner = end < scanner.endIndex ? scanner[scanner.index(after: end)...] : scanner[end...]
            } else {
                let token = scanner.prefix { $0 != "," }
                value = token.trimmingSpaces
                scanner = scanner.dropFirst(token.count)
            }
            parameters[key] = value
        }
        self.parameters = parameters
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Access scopes of the token protocol: `repository:<name>:<actions>`.
enum AuthScope {
    /// Read access to `repository`.
    static func pull(_ repository: String) -> String { "repository:\(repository):pull" }
    /// Read and write access to `repository`.
    static func push(_ repository: String) -> String { "repository:\(repository):pull,push" }
    /// Deletion in `repository`.
    static func delete(_ repository: String) -> String { "repository:\(repository):delete" }
}
