import Foundation

/// `RUN [--mount=…] [--network=…] [--security=…] <command>`: runs a command in the stage.
///
/// The builder does not expand the command (the shell does); mount options are expanded.
public struct RunInstruction: Sendable, Hashable, Encodable {
    /// The network a `RUN` may use.
    public enum Network: String, Sendable, Hashable, Encodable, CaseIterable {
        /// The builder's default network.
        case `default`
        /// No network: loopback only.
        case none
        /// The host's network namespace.
        case host
    }

    /// The sandbox a `RUN` runs in.
    public enum Security: String, Sendable, Hashable, Encodable, CaseIterable {
        /// Full privileges (needs the `security.insecure` entitlement).
        case insecure
        /// The default sandbox.
        case sandbox
    }

    /// Where it was written.
    public var source: InstructionSource
    /// The command, shell or exec form.
    public var command: CommandForm
    /// `--mount` values in order (options unexpanded until evaluated).
    public var mounts: [Mount]
    /// `--network`, `nil` when not given.
    public var network: Network?
    /// `--security`, `nil` when not given.
    public var security: Security?
    /// `--device` values (BuildKit labs: CDI device names, optionally `,required`), as written.
    public var devices: [String]
    /// Heredocs of the line. When the command is a single heredoc word (`RUN <<EOF`), the
    /// heredoc body is the script the shell runs; otherwise each body feeds its file
    /// descriptor (stdin for `<<EOF`, 3 for `3<<EOF`).
    public var heredocs: [Heredoc]

    /// Parses a `RUN` node.
    public init(node: Node) throws(DockerfileError) {
        let flags = try ParsedFlags(node: node, accepting: FlagSpec.byInstruction["run"]!)
        source = InstructionSource(node: node)
        command = CommandForm(node: node, arguments: node.arguments[...])
        heredocs = node.heredocs
        devices = flags.list("device")
        let mountLocations = node.flags.indices.filter { FlagSpec.name(of: node.flags[$0]) == "mount" }.map { node.flagLocations[$0] }
        var mounts: [Mount] = []
        for (index, text) in flags.list("mount").enumerated() {
            do throws(MountError) {
                mounts.append(try Mount(parsing: text, expand: nil))
            } catch {
                throw error.diagnostic(at: mountLocations.indices.contains(index) ? mountLocations[index] : node.location)
            }
        }
        self.mounts = mounts
        if let value = flags.string("network") {
            guard let network = Network(rawValue: value.lowercased()) else {
                throw DockerfileError("unsupported network mode \"\(value)\"", at: source.location(ofFlag: "network"),
                                      suggestion: SpellingSuggestion.closest(to: value, in: Network.allCases.map(\.rawValue)))
            }
            self.network = network
        }
        if let value = flags.string("security") {
            guard let security = Security(rawValue: value.lowercased()) else {
                throw DockerfileError("unsupported security mode \"\(value)\"", at: source.location(ofFlag: "security"),
                                      suggestion: SpellingSuggestion.closest(to: value, in: Security.allCases.map(\.rawValue)))
            }
            self.security = security
        }
    }

    /// True when the command is only a heredoc opener (`RUN <<EOF`): the body is the script.
    public var runsHeredocAsScript: Bool {
        guard case .shell(let text) = command, !heredocs.isEmpty else { return false }
        return HeredocWord(text.trimmingCharacters(in: .whitespaces)) != nil
    }

    /// What the shell runs once heredocs are taken into account, as BuildKit's dispatcher does:
    /// `RUN <<EOF` runs the body itself (leading tabs removed for `<<-`); a command with
    /// heredocs (`RUN python3 <<EOF`) is handed to the shell with the bodies and terminators
    /// appended, so the shell's own heredoc support feeds them. Without heredocs: ``command``.
    ///
    /// A script body starting with `#!` is written to a file and executed by the builder instead
    /// (on Linux); ``scriptFile`` gives that file.
    public var effectiveCommand: CommandForm {
        guard case .shell(let text) = command, !heredocs.isEmpty else { return command }
        if runsHeredocAsScript {
            let body = heredocs[0]
            return .shell(body.chomp ? FileSources.chomp(body.content) : body.content)
        }
        return .shell(heredocs.reduce(text) { $0 + "\n" + $1.content + $1.name })
    }

    /// The heredoc script to write to a file and execute, when ``runsHeredocAsScript`` and the
    /// body starts with a `#!` line.
    public var scriptFile: InlineFile? {
        guard runsHeredocAsScript, heredocs[0].content.hasPrefix("#!") else { return nil }
        let body = heredocs[0]
        return InlineFile(path: body.name, content: body.chomp ? FileSources.chomp(body.content) : body.content, expand: false)
    }
}

/// A `[n]<<[-]NAME` word as it appears in arguments, with the heredoc name unquoted.
struct HeredocWord: Sendable, Hashable {
    /// The heredoc name, quotes removed.
    var name: String
    /// Leading digits before `<<`, 0 when none.
    var fileDescriptor: Int

    /// Recognises a heredoc opener word; `nil` for anything else.
    init?(_ word: String) {
        let digits = word.prefix { $0.isASCII && $0.isNumber }
        var rest = word.dropFirst(digits.count)
        guard rest.hasPrefix("<<") else { return nil }
        rest = rest.dropFirst(2)
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        let name = rest.filter { $0 != "\"" && $0 != "'" }
        guard !name.isEmpty, !name.contains("<") else { return nil }
        self.name = name
        self.fileDescriptor = Int(digits) ?? 0
    }
}
