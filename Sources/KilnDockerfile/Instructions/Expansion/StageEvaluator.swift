/// Walks one stage's instructions in order, tracking variables the way BuildKit's dispatcher
/// does. Two environments are kept apart:
///
/// - the *state* environment: what instructions expand with and what `RUN` runs with. ENV
///   and ARG both assign to it, the later assignment winning (so `ARG X` after `ENV X`
///   changes `$X` for later steps, exactly as BuildKit's `AddEnv` does);
/// - the *image* environment: only `ENV`, what the image config keeps.
///
/// A stage built on another stage starts from that stage's final state (ARG values included,
/// as in BuildKit) with the parent's image environment re-applied on top; a stage built on an
/// image or `scratch` starts from the image's `Env`. `PATH` is added to the image environment
/// when missing, as BuildKit does for every stage.
///
/// ARG, per argument and in order: a `--build-arg` value is used as is; else a default is
/// expanded with the state at that point (so `ARG A=1 B=$A` gives `B=1`); else a global ARG
/// (or predefined platform ARG) of that name lends its value; else the ARG is declared but unset.
struct StageEvaluator {
    /// Linux `PATH` BuildKit puts in an image config that has none.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    let scope: GlobalScope
    let options: BuildOptions
    let escapeToken: Character
    /// What instructions expand with and `RUN` runs with.
    private(set) var state: OrderedEnvironment
    /// The image config's environment.
    private(set) var image: OrderedEnvironment
    /// ARGs the stage declared, in order (re-declarations keep the first position).
    private var declaredArgs: [String] = []
    /// Values of declared ARGs that got one.
    private var argValues: [String: String] = [:]

    /// Every ARG name the stage declared.
    var declared: Set<String> { Set(declaredArgs) }

    init(scope: GlobalScope, options: BuildOptions, state: OrderedEnvironment, image: OrderedEnvironment, escapeToken: Character) {
        self.scope = scope
        self.options = options
        self.escapeToken = escapeToken
        var image = image
        if image["PATH"] == nil { image["PATH"] = Self.defaultPath }
        var state = state
        for pair in image.pairs { state[pair.key] = pair.value }
        self.state = state
        self.image = image
    }

    mutating func evaluate(_ instruction: Instruction, sources: [StageSource]) throws(DockerfileError) -> ResolvedInstruction {
        var resolved = ResolvedInstruction(instruction: instruction, buildArgs: [:], environment: nil, proxyEnvironment: nil, sources: sources)
        var expander = WordExpander(escapeToken: escapeToken, variables: state.dictionary, location: instruction.location)
        switch instruction {
        case .arg(var arg):
            // Each argument sees the ones before it, so ARG is not expanded as one word list.
            for index in arg.arguments.indices {
                let name = arg.arguments[index].name
                let value: String?
                if let given = options.buildArgs[name] {
                    value = given
                } else if let defaultValue = arg.arguments[index].defaultValue {
                    expander.variables = state.dictionary
                    value = try expander.word(defaultValue)
                } else if scope.declared.contains(name) || PredefinedArgs.platformArgNames.contains(name) {
                    value = scope.variables[name]
                } else {
                    value = nil
                }
                arg.arguments[index].defaultValue = value
                if !declaredArgs.contains(name) { declaredArgs.append(name) }
                if let value {
                    argValues[name] = value
                    state[name] = value
                    resolved.buildArgs[name] = value
                }
            }
            resolved.instruction = .arg(arg)
        case .env:
            resolved.instruction = try instruction.expanded(with: &expander)
            guard case .env(let env) = resolved.instruction else { break }
            for pair in env.variables {
                state[pair.key] = pair.value
                image[pair.key] = pair.value
            }
            resolved.buildArgs = referencedArgs(expander.matched)
        case .run:
            resolved.instruction = try instruction.expanded(with: &expander)
            resolved.environment = state.dictionary
            resolved.buildArgs = referencedArgs(Set(declaredArgs))
            resolved.proxyEnvironment = options.buildArgs.filter { PredefinedArgs.proxyArgNames.contains($0.key) }
        case .copy(var copy):
            // `--from` is resolved before any stage runs, so only global ARGs reach it.
            if let from = copy.from {
                copy.from = try scope.expand(from, at: copy.source.location(ofFlag: "from"))
            }
            resolved.instruction = try Instruction.copy(copy).expanded(with: &expander)
            resolved.buildArgs = referencedArgs(expander.matched)
        default:
            resolved.instruction = try instruction.expanded(with: &expander)
            resolved.buildArgs = referencedArgs(expander.matched)
        }
        return resolved
    }

    /// The declared ARGs among `names` that have a value, with their current state value
    /// (an ENV of the same name set later wins, as in BuildKit's RUN description).
    private func referencedArgs(_ names: Set<String>) -> [String: String] {
        var result: [String: String] = [:]
        for name in declaredArgs where names.contains(name) {
            if let value = state[name] ?? argValues[name] { result[name] = value }
        }
        return result
    }
}
