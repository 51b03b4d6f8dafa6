/// The value shape of an instruction flag, as BuildKit's BFlags knows them.
public enum FlagKind: Sendable, Hashable {
    /// `--link`, `--link=true`, `--link=false`.
    case bool
    /// `--chown=value`, once.
    case string
    /// `--mount=value`, any number of times.
    case strings
}

/// A flag an instruction accepts.
public struct FlagSpec: Sendable, Hashable {
    /// The name without leading dashes.
    public var name: String
    /// How its value is written.
    public var kind: FlagKind

    /// Creates a flag spec.
    public init(_ name: String, _ kind: FlagKind) {
        self.name = name
        self.kind = kind
    }

    /// The flags each instruction accepts, keyed by lowercased keyword; instructions not
    /// listed accept none.
    public static let byInstruction: [String: [FlagSpec]] = [
        "from": [FlagSpec("platform", .string)],
        "run": [
            FlagSpec("mount", .strings), FlagSpec("network", .string), FlagSpec("security", .string),
            FlagSpec("device", .strings),
        ],
        "add": [
            FlagSpec("chown", .string), FlagSpec("chmod", .string), FlagSpec("link", .bool),
            FlagSpec("keep-git-dir", .bool), FlagSpec("checksum", .string), FlagSpec("exclude", .strings),
            FlagSpec("unpack", .bool),
        ],
        "copy": [
            FlagSpec("from", .string), FlagSpec("chown", .string), FlagSpec("chmod", .string),
            FlagSpec("link", .bool), FlagSpec("parents", .bool), FlagSpec("exclude", .strings),
        ],
        "healthcheck": [
            FlagSpec("interval", .string), FlagSpec("timeout", .string), FlagSpec("start-period", .string),
            FlagSpec("start-interval", .string), FlagSpec("retries", .string),
        ],
    ]

    /// The flag name in a `--name[=value]` word.
    static func name(of flag: String) -> String {
        let body = flag.hasPrefix("--") ? flag.dropFirst(2) : Substring(flag)
        return String(body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}

/// The flags of one instruction after BFlags-style validation.
struct ParsedFlags: Sendable {
    private var strings: [String: String] = [:]
    private var lists: [String: [String]] = [:]
    private var bools: [String: Bool] = [:]

    /// The value of a string flag, `nil` when not given.
    func string(_ name: String) -> String? { strings[name] }
    /// All values of a repeatable flag, in order.
    func list(_ name: String) -> [String] { lists[name] ?? [] }
    /// The value of a boolean flag, `nil` when not given.
    func bool(_ name: String) -> Bool? { bools[name] }

    /// Validates `node.flags` against the flags the instruction accepts.
    ///
    /// Errors point at the offending flag: unknown (with a spelling suggestion, or the
    /// instruction it belongs to), repeated, missing value, non-boolean value.
    init(node: Node, accepting specs: [FlagSpec]) throws(DockerfileError) {
        let instruction = node.keyword.uppercased()
        for (index, flag) in node.flags.enumerated() {
            let location = node.flagLocations.indices.contains(index) ? node.flagLocations[index] : node.location
            guard flag.hasPrefix("--") else {
                throw DockerfileError("flag should start with --: \(flag)", at: location)
            }
            if flag == "--" { break }
            let body = flag.dropFirst(2)
            let name: String
            let value: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
                value = nil
            }
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw Self.unknownFlag(name, on: instruction, known: specs, at: location)
            }
            if spec.kind != .strings, strings[name] != nil || bools[name] != nil {
                throw DockerfileError("duplicate flag specified: --\(name)", at: location)
            }
            switch spec.kind {
            case .bool:
                switch value?.lowercased() {
                case nil: bools[name] = true
                case "true": bools[name] = true
                case "false": bools[name] = false
                case "": throw DockerfileError("missing a value on flag: --\(name)", at: location)
                default:
                    throw DockerfileError("expecting boolean value for flag --\(name), not: \(value!)", at: location)
                }
            case .string:
                guard let value else { throw DockerfileError("missing a value on flag: --\(name)", at: location) }
                strings[name] = value
            case .strings:
                guard let value else { throw DockerfileError("missing a value on flag: --\(name)", at: location) }
                lists[name, default: []].append(value)
            }
        }
    }

    private static func unknownFlag(_ name: String, on instruction: String, known: [FlagSpec], at location: SourceLocation) -> DockerfileError {
        if let suggestion = SpellingSuggestion.closest(to: name, in: known.map(\.name)) {
            return DockerfileError("unknown flag: --\(name)", at: location, suggestion: "--\(suggestion)")
        }
        let owners = FlagSpec.byInstruction.filter { $0.value.contains { $0.name == name } }.keys.map { $0.uppercased() }.sorted()
        if !owners.isEmpty {
            return DockerfileError(
                "flag --\(name) is not valid for \(instruction) (it belongs to \(owners.joined(separator: ", ")))", at: location)
        }
        return DockerfileError("unknown flag: --\(name)", at: location)
    }
}
