/// The variables of `FROM` lines: the predefined platform ARGs and the global ARGs (before
/// the first `FROM`), each default expanded in order, `--build-arg` values winning.
struct GlobalScope: Sendable {
    /// Visible variables (predefined + global ARGs that have a value).
    var variables: [String: String]
    /// Names declared by global ARGs.
    var declared: Set<String>
    /// The escape token of the file.
    var escapeToken: Character
    /// Names of the named contexts that are local directories.
    var directoryContexts: Set<String>

    init(dockerfile: Dockerfile, options: BuildOptions) throws(DockerfileError) {
        escapeToken = dockerfile.directives.escapeToken
        directoryContexts = options.directoryContexts
        variables = PredefinedArgs.platformArgs(target: options.targetPlatform, build: options.buildPlatform)
        declared = []
        for arg in dockerfile.globalArgs {
            // Unlike a stage ARG, each global argument sees the ones before it on the same
            // line (BuildKit expands meta args one by one).
            for argument in arg.arguments {
                declared.insert(argument.name)
                // A --build-arg is used as given; only a default is expanded.
                if let given = options.buildArgs[argument.name] {
                    variables[argument.name] = given
                } else if let defaultValue = argument.defaultValue {
                    var expander = WordExpander(escapeToken: escapeToken, variables: variables, location: arg.source.location)
                    variables[argument.name] = try expander.word(defaultValue)
                }
            }
        }
    }

    /// Expands a `FROM` word or a `COPY --from` value.
    func expand(_ text: String, at location: SourceLocation) throws(DockerfileError) -> String {
        var expander = WordExpander(escapeToken: escapeToken, variables: variables, location: location)
        return try expander.word(text)
    }

    /// The stage's base after expansion: `scratch`, an earlier stage (by name), or an image.
    /// A directory context is not an image: `FROM` naming one is an error here.
    func base(of stage: Stage, in dockerfile: Dockerfile) throws(DockerfileError) -> StageSource {
        let location = stage.from.source.location(ofArgument: 0)
        let name = try expand(stage.from.base, at: location)
        guard !name.isEmpty else {
            throw DockerfileError("base name (\(stage.from.base)) should not be blank", at: location)
        }
        if name == "scratch" { return .scratch }
        let lowered = name.lowercased()
        if let earlier = dockerfile.stages[..<stage.index].last(where: { $0.name == lowered }) {
            return .stage(earlier.index)
        }
        if directoryContexts.contains(name) {
            throw DockerfileError(
                "build context \"\(name)\" is a local directory, and FROM needs an image: start FROM scratch and COPY --from=\(name) / / instead",
                at: location)
        }
        return .image(name)
    }

    /// The stage's `--platform` after expansion, if given: `os[/arch[/variant]]` (or a bare
    /// architecture), as containerd's platform parser accepts.
    func platform(of stage: Stage) throws(DockerfileError) -> String? {
        guard let platform = stage.from.platform else { return nil }
        let location = stage.from.source.location(ofFlag: "platform")
        let value = try expand(platform, at: location)
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let valid = (1...3).contains(parts.count) && parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        }
        guard valid else { throw DockerfileError("failed to parse platform \"\(value)\"", at: location) }
        return value
    }
}

extension Dockerfile {
    /// Resolves a `COPY --from` / mount `from=` value: a stage index, a stage name, a
    /// directory context (one of `directoryContexts`), else an image.
    func source(named text: String, at location: SourceLocation, directoryContexts: Set<String>) throws(DockerfileError) -> StageSource {
        if let index = Int(text) {
            guard stages.indices.contains(index) else {
                throw DockerfileError("invalid stage index \(index): the Dockerfile has \(stages.count) stage\(stages.count == 1 ? "" : "s")",
                                      at: location)
            }
            return .stage(index)
        }
        if let stage = stage(named: text) { return .stage(stage.index) }
        if directoryContexts.contains(text) { return .context(text) }
        return .image(text)
    }
}
