import KilnOCI

/// A registry that serves another registry's repositories, possibly under a path prefix:
/// `localhost:5000/mirror` serves `docker.io/library/busybox` as `localhost:5000`'s
/// `mirror/library/busybox`.
public struct RegistryMirror: Sendable, Hashable, CustomStringConvertible {
    /// The mirror's host with optional port.
    public var host: String
    /// The path prefixed to every repository, without slashes at either end; empty for none.
    public var pathPrefix: String

    /// Parses `host[:port][/path-prefix]`.
    public init(parsing text: String) throws(RegistryOptionsError) {
        guard !text.contains("://") else { throw .invalid("mirror \"\(text)\": expected host[:port][/path-prefix], no scheme") }
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty else {
            throw .invalid("mirror \"\(text)\": expected host[:port][/path-prefix]")
        }
        self.host = String(host)
        self.pathPrefix = parts.count > 1 ? String(parts[1]) : ""
    }

    /// The repository on the mirror that holds `repository` of the origin.
    public func repository(for repository: String) -> String {
        pathPrefix.isEmpty ? repository : pathPrefix + "/" + repository
    }

    /// `host/prefix`.
    public var description: String { pathPrefix.isEmpty ? host : host + "/" + pathPrefix }
}

/// A registry options value, flag or file that cannot be used.
public enum RegistryOptionsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, naming the value or file.
    case invalid(String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .invalid(let why): return why
        }
    }
}
