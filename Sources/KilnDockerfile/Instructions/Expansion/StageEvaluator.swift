/// Walks one stage's instructions in order, tracking ARG and ENV scope the way BuildKit's
/// dispatcher does.
///
/// - A stage starts with its base's ENV and no ARGs: global ARGs are visible only once
///   redeclared (`ARG NAME` without value takes the global value).
/// - An ARG's value is the `--build-arg` if given, else its default (expanded), else the
///   global value; an ARG with none of these is declared but unset.
/// - ENV beats ARG of the same name, whatever their order.
/// - Every word of one instruction sees the variables as they were before it.
struct StageEvaluator {
    let scope: GlobalScope
    let options: BuildOptions
    let escapeToken: Character
    /// The stage's ENV, in the order an image config lists it.
    private(set) var environment: [KeyValuePair]
    /// ARGs declared in the stage that have a value.
    private var argValues: [String: String] = [:]
    /// Every ARG name the stage declared.
    private(set) var declared: Set<String> = []

    init(scope: GlobalScope, options: BuildOptions, environment: [KeyValuePair], escapeToken: Character) {
        self.scope = scope
        self.options = options
        self.environment = environment
        self.escapeToken = escapeToken
    }

    /// Variables an instruction sees: ARG values overlaid by ENV.
    var variables: [String: String] {
        var result = argValues
        for pair in environment { result[pair.key] = pair.value }
        return result
    }

    /// ARG values not shadowed by ENV.
    private var effectiveArgs: [String: String] {
        let shadowed = Set(environment.map(\.key))
        return argValues.filter { !shadowed.contains($0.key) }
    }

    mutating func evaluate(_ instruction: Instruction, sources: [StageSource]) throws(DockerfileError) -> ResolvedInstruction {
        var expander = WordExpander(escapeToken: escapeToken, variables: variables, location: instruction.location)
        var expanded = try instruction.expanded(with: &expander)
        let args = effectiveArgs
        var buildArgs = args.filter { expander.matched.contains($0.key) }
        var environmentForRun: [String: String]?
        var proxies: [String: String]?
        switch expanded {
        case .arg(let arg):
            for argument in arg.arguments {
                declared.insert(argument.name)
                let inheritable = scope.declared.contains(argument.name) || PredefinedArgs.platformArgNames.contains(argument.name)
                let value = options.buildArgs[argument.name] ?? argument.defaultValue
                    ?? (inheritable ? scope.variables[argument.name] : nil)
                if let value {
                    argValues[argument.name] = value
                    buildArgs[argument.name] = value
                }
            }
        case .env(let env):
            for pair in env.variables {
                if let existing = environment.firstIndex(where: { $0.key == pair.key }) {
                    environment[existing].value = pair.value
                } else {
                    environment.append(pair)
                }
            }
        case .run:
            buildArgs = args
            environmentForRun = variables
            proxies = options.buildArgs.filter { PredefinedArgs.proxyArgNames.contains($0.key) && argValues[$0.key] == nil }
        case .copy(var copy):
            // `--from` is resolved before any stage runs, so only global ARGs reach it.
            if let from = copy.from {
                copy.from = try scope.expand(from, at: copy.source.location(ofFlag: "from"))
                expanded = .copy(copy)
            }
        default:
            break
        }
        return ResolvedInstruction(instruction: expanded, buildArgs: buildArgs, environment: environmentForRun,
                                   proxyEnvironment: proxies, sources: sources)
    }
}
