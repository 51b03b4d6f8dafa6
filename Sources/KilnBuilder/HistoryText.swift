import Foundation
import KilnDockerfile

/// The `created_by` text of a history entry, as BuildKit writes it: the instruction after
/// expansion, RUN with its shell and `|N K=V` build-arg prefix and a `# buildkit` suffix, so
/// `docker history` reads the same for Kiln's images as for BuildKit's.
enum HistoryText {
    /// The text for `step`, `shell` being the SHELL in effect.
    static func text(for step: ResolvedInstruction, shell: [String]) -> String {
        switch step.instruction {
        case .run(let run):
            var text = "RUN "
            if !step.buildArgs.isEmpty {
                let args = step.buildArgs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                text += "|\(args.count) " + args.joined(separator: " ") + " "
            }
            return text + run.effectiveCommand.arguments(shell: shell).joined(separator: " ") + " # buildkit"
        case .copy(let copy):
            return "COPY " + (copy.files.paths + [copy.files.destination]).joined(separator: " ") + " # buildkit"
        case .add(let add):
            return "ADD " + (add.files.paths + [add.files.destination]).joined(separator: " ") + " # buildkit"
        case .env(let env):
            return "ENV " + env.variables.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .label(let label):
            return "LABEL " + label.labels.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .cmd(let cmd):
            return "CMD " + json(cmd.command.arguments(shell: shell))
        case .entrypoint(let entrypoint):
            return "ENTRYPOINT " + json(entrypoint.entrypoint.arguments(shell: shell))
        case .expose(let expose):
            return "EXPOSE " + expose.ports.joined(separator: " ")
        case .volume(let volume):
            return "VOLUME " + json(volume.volumes)
        case .user(let user):
            return "USER " + user.user
        case .workdir(let workdir):
            return "WORKDIR " + workdir.path
        case .stopSignal(let signal):
            return "STOPSIGNAL " + signal.signal
        case .healthcheck(let check):
            return "HEALTHCHECK " + json(check.test)
        case .shell(let shellInstruction):
            return "SHELL " + json(shellInstruction.shell)
        case .onbuild(let onbuild):
            return "ONBUILD " + onbuild.expression
        case .maintainer(let maintainer):
            return "MAINTAINER " + maintainer.maintainer
        case .arg(let arg):
            return "ARG " + arg.arguments.map { argument in argument.defaultValue.map { "\(argument.name)=\($0)" } ?? argument.name }.joined(separator: " ")
        case .from(let from):
            return "FROM " + from.base
        }
    }

    private static func json(_ words: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: words, options: [.withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
