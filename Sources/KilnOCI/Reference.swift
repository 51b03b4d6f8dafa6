/// An image reference, `[registry/]repository[:tag][@digest]`, parsed and normalised as Docker's
/// `distribution/reference` does (`ParseNormalizedNamed`): `busybox` is
/// `docker.io/library/busybox:latest`.
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    /// `docker.io`, the registry of names without one.
    public static let defaultRegistry = "docker.io"
    /// `latest`, the tag of references with neither tag nor digest.
    public static let defaultTag = "latest"

    /// The registry host, with port if any (`docker.io`, `localhost:5000`, `[::1]:5000`).
    public let registry: String
    /// The repository path inside the registry (`library/busybox`).
    public let repository: String
    /// The tag, if any.
    public let tag: String?
    /// The digest, if any. When both are present, the digest decides what is pulled.
    public let digest: Digest?

    /// Parses and normalises `string`. With `defaultTag` (the default), a reference with neither
    /// tag nor digest gets `:latest`, as `docker pull` does; pass nil to keep it untagged.
    public init(parsing string: String, defaultTag: String? = Reference.defaultTag) throws(ReferenceError) {
        // Checked before normalisation, which would otherwise hide them behind "docker.io/library/".
        guard !string.isEmpty else { throw ReferenceError.empty }
        if string.hasPrefix(":") || string.hasPrefix("@") || string.hasPrefix("/") {
            throw ReferenceError.invalidFormat(string, reason: "missing repository name")
        }
        if string.utf8.count == 64, string.utf8.allSatisfy(ReferenceGrammar.isLowerHex) {
            throw ReferenceError.hexIdentifier(string)
        }
        let (registry, remainder) = Reference.splitRegistry(string)
        let remoteName = remainder.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if remoteName.lowercased() != remoteName {
            throw ReferenceError.uppercaseRepository(string, repository: remoteName)
        }
        let parsed = try ParsedReference(parsing: registry + "/" + remainder, original: string)
        guard parsed.registry == registry else {
            throw ReferenceError.invalidFormat(string, reason: "\"\(registry)\" is not a valid registry host")
        }
        self.registry = registry
        self.repository = parsed.repository
        self.digest = parsed.digest
        self.tag = parsed.tag ?? (parsed.digest == nil ? defaultTag : nil)
    }

    /// Creates a reference from parts, checking each against the grammar.
    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) throws(ReferenceError) {
        var text = registry + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        let parsed = try ParsedReference(parsing: text, original: text)
        guard parsed.registry == registry, parsed.repository == repository else {
            throw ReferenceError.invalidFormat(text, reason: "\"\(registry)\" is not a valid registry host")
        }
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `registry/repository`.
    public var name: String { registry + "/" + repository }

    /// The full normalised reference: `docker.io/library/busybox:latest`.
    public var description: String { name + suffix }

    /// The name as Docker prints it: without `docker.io/`, and without `library/` for official images.
    public var familiarName: String {
        guard registry == Reference.defaultRegistry else { return name }
        let official = "library/"
        if repository.hasPrefix(official), !repository.dropFirst(official.count).contains("/") {
            return String(repository.dropFirst(official.count))
        }
        return repository
    }

    /// The reference as Docker prints it: `busybox:latest`, `user/repo@sha256:...`.
    public var familiarString: String { familiarName + suffix }

    /// The same reference with another tag (and no digest).
    public func withTag(_ tag: String) throws(ReferenceError) -> Reference {
        try Reference(registry: registry, repository: repository, tag: tag)
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    public func withDigest(_ digest: Digest) -> Reference {
        Reference(checkedRegistry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// The host to talk to for the registry API: `registry-1.docker.io` for Docker Hub.
    public var registryAPIHost: String {
        registry == Reference.defaultRegistry ? "registry-1.docker.io" : registry
    }

    /// Whether the registry is on this machine, where plain HTTP is used.
    public var isLoopbackRegistry: Bool { RegistryHost.isLoopback(registry) }

    private init(checkedRegistry registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    private var suffix: String {
        (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// Docker's rule for whether the first path component is a registry: it contains `.` or `:`,
    /// is `localhost`, or has uppercase letters (repository paths cannot). `index.docker.io` is
    /// `docker.io`, and single-component Docker Hub names are official images under `library/`.
    private static func splitRegistry(_ string: String) -> (registry: String, remainder: String) {
        var registry = defaultRegistry
        var remainder = string
        if let slash = string.firstIndex(of: "/") {
            let first = String(string[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                registry = first
                remainder = String(string[string.index(after: slash)...])
            }
        }
        if registry == "index.docker.io" { registry = defaultRegistry }
        if registry == defaultRegistry, !remainder.contains("/") { remainder = "library/" + remainder }
        return (registry, remainder)
    }
}

/// A reference split by the grammar alone, without Docker Hub normalisation (`reference.Parse`).
struct ParsedReference {
    /// Empty when the name has no registry component.
    var registry: String
    var repository: String
    var tag: String?
    var digest: Digest?

    /// The longest name (`registry/repository`) distribution accepts.
    static let nameTotalLengthMax = 255

    init(parsing text: String, original: String) throws(ReferenceError) {
        guard !text.isEmpty else { throw ReferenceError.empty }
        guard let matched = ParsedReference.match(text) else {
            if ParsedReference.match(text.lowercased()) != nil {
                throw ReferenceError.uppercaseRepository(original, repository: text)
            }
            throw ReferenceError.invalidFormat(original, reason: ParsedReference.diagnose(text))
        }
        self = matched.reference
        if let digestText = matched.digestText {
            // The grammar matched; the digest may still be of an unsupported algorithm or the wrong
            // length, which `Parse` reports as such rather than as a format error.
            do { digest = try Digest(parsing: digestText) } catch {
                throw ReferenceError.invalidFormat(original, reason: error.description)
            }
        }
        let nameLength = (registry.isEmpty ? 0 : registry.utf8.count + 1) + repository.utf8.count
        guard nameLength <= ParsedReference.nameTotalLengthMax else {
            throw ReferenceError.nameTooLong(original, length: nameLength)
        }
    }

    private init(registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `name(:tag)?(@digest)?` where the name's only colons are in its registry component, so a
    /// colon after the last slash separates the tag.
    private static func match(_ text: String) -> (reference: ParsedReference, digestText: String?)? {
        var rest = Substring(text)
        var digestText: String?
        if let at = rest.firstIndex(of: "@") {
            let candidate = String(rest[rest.index(after: at)...])
            guard ReferenceGrammar.isDigest(candidate) else { return nil }
            digestText = candidate
            rest = rest[..<at]
        }
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/") ?? rest.startIndex
        if let colon = rest[lastSlash...].lastIndex(of: ":") {
            let tagText = String(rest[rest.index(after: colon)...])
            guard ReferenceGrammar.isTag(tagText) else { return nil }
            tag = tagText
            rest = rest[..<colon]
        }
        let name = String(rest)
        if let slash = name.firstIndex(of: "/") {
            let first = String(name[..<slash])
            let path = String(name[name.index(after: slash)...])
            if ReferenceGrammar.isRegistryHost(first), ReferenceGrammar.isRepositoryPath(path) {
                return (ParsedReference(registry: first, repository: path, tag: tag, digest: nil), digestText)
            }
        }
        guard ReferenceGrammar.isRepositoryPath(name) else { return nil }
        return (ParsedReference(registry: "", repository: name, tag: tag, digest: nil), digestText)
    }

    /// Names the first thing wrong, for an error a user can act on.
    private static func diagnose(_ text: String) -> String {
        if text.hasPrefix(":") || text.hasPrefix("@") || text.hasPrefix("/") { return "missing repository name" }
        if let at = text.firstIndex(of: "@") {
            let digestText = String(text[text.index(after: at)...])
            guard ReferenceGrammar.isDigest(digestText) else {
                return "\"\(digestText)\" is not a digest (algorithm:hex, at least 32 hex digits)"
            }
        }
        let beforeDigest = text.split(separator: "@", maxSplits: 1).first.map(String.init) ?? ""
        let lastSlash = beforeDigest.lastIndex(of: "/") ?? beforeDigest.startIndex
        if let colon = beforeDigest[lastSlash...].lastIndex(of: ":") {
            let tag = String(beforeDigest[beforeDigest.index(after: colon)...])
            if !ReferenceGrammar.isTag(tag) {
                return "tag \"\(tag)\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
            }
        }
        return "repository path components must be lowercase letters and digits separated by '.', '_', '__' or dashes, optionally after a registry host[:port]/"
    }
}

/// The character-level rules of `distribution/reference`'s regular expressions.
enum ReferenceGrammar {
    static func isLowerHex(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= 0x61 && byte <= 0x7a) }
    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
    private static func isWord(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == UInt8(ascii: "_") }

    /// `[\w][\w.-]{0,127}`
    static func isTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, isWord(first), bytes.count <= 128 else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
    static func isDigest(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].utf8.count >= 32,
              parts[1].utf8.allSatisfy({ isDigit($0) || ((($0 | 0x20) >= 0x61) && (($0 | 0x20) <= 0x66)) })
        else { return false }
        let components = parts[0].utf8.split(omittingEmptySubsequences: false) { "-_+.".utf8.contains($0) }
        return components.allSatisfy { component in
            guard let first = component.first, isLetter(first) else { return false }
            return component.allSatisfy(isAlphanumeric)
        }
    }

    /// `pathComponent(/pathComponent)*` with `pathComponent = [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*`.
    static func isRepositoryPath(_ path: String) -> Bool {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy(isPathComponent)
    }

    private static func isPathComponent(_ component: Substring.UTF8View.SubSequence) -> Bool {
        let bytes = Array(component)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        var index = 0
        while index < bytes.count {
            if isLowerAlphanumeric(bytes[index]) { index += 1; continue }
            // A separator run: one '.', one '_', exactly "__", or any number of '-'.
            var end = index
            while end < bytes.count, !isLowerAlphanumeric(bytes[end]) { end += 1 }
            let separator = bytes[index..<end]
            let valid = separator.elementsEqual(".".utf8) || separator.elementsEqual("_".utf8)
                || separator.elementsEqual("__".utf8) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            guard valid else { return false }
            index = end
        }
        return true
    }

    /// `(domainName | \[ipv6\])(:[0-9]+)?` where a domain name is dot-separated labels of
    /// letters, digits and inner dashes, and the IPv6 form is hex digits and colons in brackets.
    static func isRegistryHost(_ host: String) -> Bool {
        var hostPart = Substring(host)
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { return false }
            let address = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            guard !address.isEmpty,
                  address.utf8.allSatisfy({ isDigit($0) || ((($0 | 0x20) >= 0x61) && (($0 | 0x20) <= 0x66)) || $0 == UInt8(ascii: ":") })
            else { return false }
            hostPart = hostPart[hostPart.index(after: close)...]
            return hostPart.isEmpty || isPort(hostPart)
        }
        if let colon = hostPart.firstIndex(of: ":") {
            guard isPort(hostPart[colon...]) else { return false }
            hostPart = hostPart[..<colon]
        }
        return hostPart.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
            return label.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// `:[0-9]+`
    private static func isPort(_ text: Substring) -> Bool {
        text.hasPrefix(":") && text.utf8.count > 1 && text.utf8.dropFirst().allSatisfy(isDigit)
    }
}

/// Why a string is not an image reference. Each case names the input and what is wrong.
public enum ReferenceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The empty string.
    case empty
    /// Does not match the reference grammar.
    case invalidFormat(String, reason: String)
    /// The repository path has uppercase letters.
    case uppercaseRepository(String, repository: String)
    /// `registry/repository` is longer than 255 characters.
    case nameTooLong(String, length: Int)
    /// A 64-hex string, which Docker reserves for image IDs.
    case hexIdentifier(String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .empty:
            return "invalid reference format: repository name must have at least one component"
        case .invalidFormat(let s, let reason):
            return "invalid reference format \"\(s)\": \(reason)"
        case .uppercaseRepository(let s, let repository):
            return "invalid reference format \"\(s)\": repository name (\(repository)) must be lowercase"
        case .nameTooLong(let s, let length):
            return "invalid reference \"\(s)\": repository name must not be more than \(ParsedReference.nameTotalLengthMax) characters, got \(length)"
        case .hexIdentifier(let s):
            return "invalid repository name (\(s)), cannot specify 64-byte hexadecimal strings"
        }
    }
}
