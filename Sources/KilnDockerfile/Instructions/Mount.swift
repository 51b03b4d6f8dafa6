import Foundation

/// One `RUN --mount=…` value, typed.
///
/// Option names and rules follow BuildKit: `type` (default `bind`), `target`/`dst`/`destination`,
/// `source`/`src`, `from`, `readonly`/`ro` and `readwrite`/`rw` (bare or `=bool`), `id`,
/// `sharing` (cache only), `mode`/`uid`/`gid` (cache, secret, ssh), `required` (secret, ssh),
/// `size` (tmpfs), `env` (secret).
public struct Mount: Sendable, Hashable, Encodable {
    /// What is mounted.
    public enum Kind: String, Sendable, Hashable, Encodable, CaseIterable {
        /// A directory of the context or of another stage/image, read-only by default.
        case bind
        /// A persistent cache directory shared between builds.
        case cache
        /// An empty in-memory filesystem.
        case tmpfs
        /// A secret file (or environment variable) given to the build.
        case secret
        /// An SSH agent socket forwarded to the build.
        case ssh
    }

    /// How concurrent builds share a cache mount.
    public enum Sharing: String, Sendable, Hashable, Encodable, CaseIterable {
        /// Everyone uses the same directory at once.
        case shared
        /// Each concurrent user gets its own copy.
        case `private`
        /// Users wait for each other.
        case locked
    }

    /// The mount type.
    public var type: Kind = .bind
    /// Where the mount appears in the container; relative paths and `nil` (bind, cache,
    /// tmpfs) resolve against the working directory, as in BuildKit.
    public var target: String?
    /// The path inside `from` (or the context) to mount; secret/ssh: the id's source.
    public var source: String?
    /// A stage name, stage index or image the source comes from.
    public var from: String?
    /// Read-only; defaults to true for bind, secret and ssh, false for cache and tmpfs.
    public var readOnly: Bool = true
    /// Cache id, secret id or ssh id.
    public var id: String?
    /// Cache sharing mode.
    public var sharing: Sharing?
    /// File mode (octal in the Dockerfile).
    public var mode: UInt32?
    /// Owner user id.
    public var uid: UInt32?
    /// Owner group id.
    public var gid: UInt32?
    /// Fail when the secret or ssh socket is not provided.
    public var required: Bool = false
    /// tmpfs size limit in bytes.
    public var size: Int64?
    /// Secret exposed as this environment variable.
    public var env: String?

    /// Creates a default bind mount.
    public init() {}

    /// Parses a mount flag value (CSV of `key[=value]`).
    ///
    /// Without `expand`, values containing `$` are kept as written and not validated: the
    /// evaluator parses the flag again with the stage's variables. `from` never expands.
    public init(parsing text: String, expand: ((String) throws(MountError) -> String)?) throws(MountError) {
        var readOnlyGiven = false
        for field in try Self.csvFields(text) {
            let (rawKey, rawValue) = Self.split(field)
            let key = rawKey.lowercased()
            guard let given = rawValue else {
                switch key {
                case "readonly", "ro": readOnly = true; readOnlyGiven = true
                case "readwrite", "rw": readOnly = false; readOnlyGiven = true
                case "required":
                    guard type == .secret || type == .ssh else {
                        throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'")
                    }
                    required = true
                default: throw MountError("invalid field '\(field)' must be a key=value pair")
                }
                continue
            }
            var value = given
            if key == "from" {
                if value.range(of: #"\$."#, options: .regularExpression) != nil {
                    throw MountError("'from' doesn't support variable expansion, define alias stage instead")
                }
            } else if let expand {
                value = try expand(value)
            } else if value.contains("$") {
                // Deferred: re-parsed with the stage's variables by the evaluator.
                try assignUnchecked(key: key, value: value)
                continue
            }
            try assign(key: key, value: value, field: field, readOnlyGiven: &readOnlyGiven)
        }
        if !readOnlyGiven { readOnly = !(type == .cache || type == .tmpfs) }
        try validate()
    }

    private mutating func assignUnchecked(key: String, value: String) throws(MountError) {
        switch key {
        case "target", "dst", "destination": target = value
        case "source", "src": source = value
        case "id": id = value
        case "env": env = value
        default: break
        }
    }

    private mutating func assign(key: String, value: String, field: String, readOnlyGiven: inout Bool) throws(MountError) {
        switch key {
        case "type":
            guard let kind = Kind(rawValue: value.lowercased()) else {
                throw MountError("unsupported mount type \"\(value)\"",
                                 suggestion: SpellingSuggestion.closest(to: value, in: Kind.allCases.map(\.rawValue)))
            }
            type = kind
        case "from": from = value
        case "source", "src": source = value
        case "target", "dst", "destination": target = value
        case "readonly", "ro":
            readOnly = try Self.bool(value, key: key)
            readOnlyGiven = true
        case "readwrite", "rw":
            readOnly = !(try Self.bool(value, key: key))
            readOnlyGiven = true
        case "required":
            guard type == .secret || type == .ssh else {
                throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'")
            }
            required = try Self.bool(value, key: key)
        case "size":
            guard type == .tmpfs else { throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'") }
            guard let bytes = Self.ramInBytes(value) else { throw MountError("invalid value for \(key): \(value)") }
            size = bytes
        case "id": id = value
        case "sharing":
            guard let mode = Sharing(rawValue: value.lowercased()) else {
                throw MountError("unsupported sharing value \"\(value)\"",
                                 suggestion: SpellingSuggestion.closest(to: value, in: Sharing.allCases.map(\.rawValue)))
            }
            sharing = mode
        case "mode":
            guard let mode = UInt32(value, radix: 8) else { throw MountError("invalid value \(value) for mode") }
            self.mode = mode
        case "uid":
            guard let uid = UInt32(value) else { throw MountError("invalid value \(value) for uid") }
            self.uid = uid
        case "gid":
            guard let gid = UInt32(value) else { throw MountError("invalid value \(value) for gid") }
            self.gid = gid
        case "env":
            guard type == .secret else { throw MountError("unexpected key '\(key)' for mount type '\(type.rawValue)'") }
            env = value
        default:
            throw MountError("unexpected key '\(key)' in '\(field)'",
                             suggestion: SpellingSuggestion.closest(to: key, in: Self.knownKeys))
        }
    }

    private func validate() throws(MountError) {
        if type != .secret && type != .ssh && type != .cache {
            if mode != nil { throw MountError("mode not allowed for \"\(type.rawValue)\" type mounts") }
            if uid != nil { throw MountError("uid not allowed for \"\(type.rawValue)\" type mounts") }
            if gid != nil { throw MountError("gid not allowed for \"\(type.rawValue)\" type mounts") }
        }
        if type == .secret {
            if from != nil { throw MountError("secret mount should not have a from") }
            if sharing != nil { throw MountError("secret mount should not define sharing") }
            if source == nil && target == nil && id == nil && env == nil {
                throw MountError("invalid secret mount. one of source, target required")
            }
            if source != nil && id != nil { throw MountError("both source and id can't be set") }
        }
        if sharing != nil && type != .cache {
            throw MountError("invalid cache sharing set for \(type.rawValue) mount")
        }
    }

    private static let knownKeys = [
        "type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid",
        "src", "dst", "destination", "ro", "rw", "readwrite", "env",
    ]

    private static func split(_ field: String) -> (String, String?) {
        guard let equals = field.firstIndex(of: "=") else { return (field, nil) }
        return (String(field[..<equals]), String(field[field.index(after: equals)...]))
    }

    private static func bool(_ value: String, key: String) throws(MountError) -> Bool {
        // Go's strconv.ParseBool spellings.
        switch value {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: throw MountError("invalid value for \(key): \(value)")
        }
    }

    /// docker/go-units `RAMInBytes`: a number with an optional binary unit (`64m`, `1.5GiB`, `512`).
    static func ramInBytes(_ text: String) -> Int64? {
        var number = ""
        var rest = Substring(text)
        while let c = rest.first, c.isASCII, c.isNumber || c == "." { number.append(c); rest = rest.dropFirst() }
        guard let amount = Double(number), !number.hasPrefix("."), !number.hasSuffix(".") else { return nil }
        if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        let units: [Character: Double] = ["k": 0x1p10, "m": 0x1p20, "g": 0x1p30, "t": 0x1p40, "p": 0x1p50]
        var multiplier = 1.0
        if let c = rest.first, let unit = units[Character(c.lowercased())] { multiplier = unit; rest = rest.dropFirst() }
        if let c = rest.first, c == "i" || c == "I" { rest = rest.dropFirst() }
        if let c = rest.first, c == "b" || c == "B" { rest = rest.dropFirst() }
        guard rest.isEmpty else { return nil }
        return Int64(amount * multiplier)
    }

    /// Splits one CSV record as Go's encoding/csv does (quotes group, `""` is a quote).
    static func csvFields(_ text: String) throws(MountError) -> [String] {
        var fields: [String] = []
        var current = ""
        var chars = Array(text)[...]
        var atFieldStart = true
        while let c = chars.first {
            chars = chars.dropFirst()
            if atFieldStart && c == "\"" {
                atFieldStart = false
                var closed = false
                while let q = chars.first {
                    chars = chars.dropFirst()
                    if q == "\"" {
                        if chars.first == "\"" { current.append("\""); chars = chars.dropFirst(); continue }
                        closed = true
                        break
                    }
                    current.append(q)
                }
                guard closed else { throw MountError("failed to parse csv mounts: extraneous or missing \" in quoted-field") }
                if let next = chars.first, next != "," {
                    throw MountError("failed to parse csv mounts: extraneous or missing \" in quoted-field")
                }
                continue
            }
            atFieldStart = false
            if c == "," {
                fields.append(current)
                current = ""
                atFieldStart = true
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }
}

/// A malformed `--mount` value; becomes a ``DockerfileError`` at the flag.
public struct MountError: Error, Sendable, Hashable {
    /// What is wrong.
    public var message: String
    /// A correction, for misspelled keys and values.
    public var suggestion: String?

    /// Creates an error.
    public init(_ message: String, suggestion: String? = nil) {
        self.message = message
        self.suggestion = suggestion
    }

    /// The diagnostic at the `--mount` flag.
    func diagnostic(at location: SourceLocation) -> DockerfileError {
        DockerfileError(message, at: location, suggestion: suggestion)
    }
}
