import Foundation
import KilnOCI

/// Everything one step's result depends on, and nothing else.
///
/// The chain runs only through steps that change the filesystem (RUN, COPY, ADD, WORKDIR):
/// a LABEL or CMD between two RUNs changes the image config, not what the second RUN
/// produces, so it does not invalidate it. What each kind of step reads from the config
/// state is part of its own input instead (a RUN's environment, user, working directory).
public struct CacheKeyInput: Sendable, Hashable, Codable {
    /// The key format; bumped when the canonical text changes meaning.
    public static let version = "kiln-cache-key v1"

    /// What the step starts from: the previous filesystem step's key, the base image's
    /// manifest digest (never its tag), or nil for `scratch`.
    public var parent: Digest?
    /// Whether ``parent`` is the base image's manifest digest rather than a step's key. Not
    /// hashed (the digest itself is); it only lets a miss say "base changed".
    public var parentIsBase: Bool
    /// `os/arch[/variant]` of the stage.
    public var platform: String
    /// `RUN`, `COPY`, `ADD` or `WORKDIR`.
    public var operation: String
    /// The instruction after expansion, in a form that holds every option that changes the
    /// result (for RUN the full argument vector after SHELL, and its mounts).
    public var instruction: String
    /// RUN: the environment the command sees (ENV and declared build args), `NAME=value`,
    /// in order. Empty for file operations, which do not read it.
    public var environment: [String]
    /// RUN, WORKDIR: the user the step runs or creates directories as.
    public var user: String
    /// RUN: the working directory.
    public var workingDirectory: String
    /// The build args the step depends on (``KilnDockerfile/ResolvedInstruction/buildArgs``).
    public var buildArgs: [String: String]
    /// COPY/ADD: the content digest of exactly the files copied, with the mode and owner
    /// they will have.
    public var sourcesDigest: Digest?
    /// The ids (never the contents) of secret mounts.
    public var secretIDs: [String]

    /// Creates an input.
    public init(parent: Digest?, parentIsBase: Bool = false, platform: String, operation: String, instruction: String,
                environment: [String] = [], user: String = "", workingDirectory: String = "/",
                buildArgs: [String: String] = [:], sourcesDigest: Digest? = nil, secretIDs: [String] = []) {
        self.parent = parent
        self.parentIsBase = parentIsBase
        self.platform = platform
        self.operation = operation
        self.instruction = instruction
        self.environment = environment
        self.user = user
        self.workingDirectory = workingDirectory
        self.buildArgs = buildArgs
        self.sourcesDigest = sourcesDigest
        self.secretIDs = secretIDs
    }

    /// The fields in canonical order, each value JSON-quoted so no value can forge a line.
    public var fields: [(name: String, value: String)] {
        var fields: [(String, String)] = [
            ("version", Self.version),
            ("parent", parent?.description ?? "scratch"),
            ("platform", platform),
            ("operation", operation),
            ("instruction", instruction),
        ]
        fields += environment.map { ("env", $0) }
        fields.append(("user", user))
        fields.append(("workdir", workingDirectory))
        fields += buildArgs.sorted { $0.key < $1.key }.map { ("arg", "\($0.key)=\($0.value)") }
        if let sourcesDigest { fields.append(("sources", sourcesDigest.description)) }
        fields += secretIDs.sorted().map { ("secret", $0) }
        return fields
    }

    /// The text that is hashed: one `name "value"` line per field.
    public var canonicalText: String {
        fields.map { "\($0.name) \(Self.quote($0.value))\n" }.joined()
    }

    /// JSON string quoting of `value` (every control character escaped).
    static func quote(_ value: String) -> String {
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
}
