import KilnDockerfile
import KilnOCI

/// Dockerfile instructions that only set the image config, applied outside a build
/// (`kiln import --change`, as `docker import --change`). They go through the frontend and the
/// config update of a build — parsed and typed by KilnDockerfile, expanded by its plan (ENV,
/// LABEL, USER… see each other's variables, as in a stage), applied by ``StageConfig`` — so each
/// behaves exactly as the same line in a Dockerfile stage built `FROM scratch`.
public struct ConfigChanges: Sendable {
    /// The instructions accepted: Docker's list for `--change` (those that set the config and
    /// nothing else).
    public static let accepted = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL",
                                  "USER", "VOLUME", "WORKDIR"]

    /// Each change as written, with its instruction expanded, in the order given.
    private let changes: [(text: String, instruction: Instruction)]
    /// The flag that gave them, for messages.
    private let flag: String

    /// Reads `texts`, one instruction each; `flag` names them in errors.
    public init(_ texts: [String], flag: String = "--change") throws(ConfigChangeError) {
        self.flag = flag
        for text in texts { try Self.check(text, flag: flag) }
        // One stage holding every change, so that later changes expand with earlier ENVs; the
        // change on line N + 1 is texts[N - 1].
        let dockerfile = (["FROM scratch"] + texts).joined(separator: "\n")
        do {
            let plan = try Dockerfile(parsing: dockerfile).plan()
            changes = Array(zip(texts, plan.stages[plan.stages.count - 1].instructions.map(\.instruction)))
        } catch {
            let index = (error.location?.line).map { $0 - 2 }.flatMap { texts.indices.contains($0) ? $0 : nil }
            throw ConfigChangeError(flag: flag, text: index.map { texts[$0] } ?? texts.joined(separator: "; "),
                                    reason: error.message)
        }
    }

    /// Refuses anything but a single accepted instruction, before any is expanded.
    private static func check(_ text: String, flag: String) throws(ConfigChangeError) {
        let stage: Stage
        do {
            stage = try Dockerfile(parsing: "FROM scratch\n" + text).stages[0]
        } catch {
            throw ConfigChangeError(flag: flag, text: text, reason: error.message)
        }
        guard stage.instructions.count == 1, let instruction = stage.instructions.first else {
            throw ConfigChangeError(flag: flag, text: text, reason: "holds \(stage.instructions.count) instructions; give one per \(flag)")
        }
        guard accepted.contains(instruction.keyword) else {
            throw ConfigChangeError(flag: flag, text: text,
                                    reason: "\(instruction.keyword) does not only set the image config; \(flag) takes \(accepted.joined(separator: ", "))")
        }
    }

    /// Applies the changes, in order, to `config` (as the instructions of one stage).
    public func apply(to config: inout ImageConfig) throws(ConfigChangeError) {
        var stage = StageConfig(image: config)
        for (text, instruction) in changes {
            do { try stage.apply(instruction) } catch {
                throw ConfigChangeError(flag: flag, text: text, reason: error.message)
            }
        }
        config = stage.image
    }
}

/// A `--change` that cannot be applied: the flag, the instruction as written and why.
public struct ConfigChangeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The flag (`--change`).
    public var flag: String
    /// The instruction as written.
    public var text: String
    /// Why it was refused.
    public var reason: String
    /// `--change "RUN true": RUN does not only set the image config; …`.
    public var description: String { "\(flag) \"\(text)\": \(reason)" }
}
