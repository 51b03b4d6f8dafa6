/// The builder-side expansion of each instruction, as BuildKit does it: ADD, COPY, ENV,
/// EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR expand their words (and the
/// flags `--chown`, `--chmod`, `--checksum`, `--exclude`, mount options); RUN, CMD,
/// ENTRYPOINT, HEALTHCHECK, SHELL, MAINTAINER and ONBUILD are left to the shell / the
/// image that triggers them.
extension Instruction {
    /// The instruction with its expandable words expanded.
    func expanded(with expander: inout WordExpander) throws(DockerfileError) -> Instruction {
        switch self {
        case .env(var i):
            for index in i.variables.indices {
                i.variables[index] = KeyValuePair(key: try expander.word(i.variables[index].key),
                                                  value: try expander.word(i.variables[index].value))
            }
            return .env(i)
        case .label(var i):
            for index in i.labels.indices {
                i.labels[index] = KeyValuePair(key: try expander.word(i.labels[index].key),
                                               value: try expander.word(i.labels[index].value))
            }
            return .label(i)
        case .expose(var i):
            var ports: [String] = []
            // A variable may hold several ports (`EXPOSE $PORTS`).
            for word in i.ports { ports += try expander.word(word).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
            i.ports = ports
            _ = try i.exposedPorts()
            return .expose(i)
        case .user(var i):
            i.user = try expander.word(i.user)
            return .user(i)
        case .workdir(var i):
            i.path = try expander.word(i.path)
            return .workdir(i)
        case .stopSignal(var i):
            i.signal = try expander.word(i.signal)
            try i.validate()
            return .stopSignal(i)
        case .volume(var i):
            i.volumes = try VolumeInstruction.trimmed(try expander.words(i.volumes), at: i.source.location)
            return .volume(i)
        case .copy(var i):
            try expander.expandFileOptions(&i.files, &i.chown, &i.chmod, &i.excludes)
            return .copy(i)
        case .add(var i):
            try expander.expandFileOptions(&i.files, &i.chown, &i.chmod, &i.excludes)
            i.checksum = try expander.word(i.checksum)
            return .add(i)
        case .run(var i):
            i.mounts = try i.expandedMounts(with: &expander)
            return .run(i)
        case .arg:
            // ARG defaults expand one argument at a time against a changing scope: the
            // stage evaluator and the global scope do it themselves.
            return self
        case .from, .cmd, .entrypoint, .healthcheck, .shell, .maintainer, .onbuild:
            return self
        }
    }
}

extension WordExpander {
    /// Expands what `COPY` and `ADD` share: sources, destination, heredoc bodies that expand,
    /// `--chown`, `--chmod` and `--exclude`.
    mutating func expandFileOptions(
        _ files: inout FileSources, _ chown: inout String?, _ chmod: inout String?, _ excludes: inout [String]
    ) throws(DockerfileError) {
        files.paths = try words(files.paths)
        files.destination = try word(files.destination)
        for index in files.inlineFiles.indices where files.inlineFiles[index].expand {
            files.inlineFiles[index].content = try heredoc(files.inlineFiles[index].content)
        }
        chown = try word(chown)
        chmod = try word(chmod)
        excludes = try words(excludes)
    }
}

extension RunInstruction {
    /// Re-parses every `--mount` from its text with the stage's variables.
    func expandedMounts(with expander: inout WordExpander) throws(DockerfileError) -> [Mount] {
        let node = source.node
        let mountFlags = node.flags.indices.filter { FlagSpec.name(of: node.flags[$0]) == "mount" }
        var mounts: [Mount] = []
        for index in mountFlags {
            let text = String(node.flags[index].drop { $0 != "=" }.dropFirst())
            var local = expander
            do throws(MountError) {
                mounts.append(try Mount(parsing: text) { (value: String) throws(MountError) -> String in
                    do throws(DockerfileError) {
                        return try local.word(value)
                    } catch {
                        throw MountError(error.message)
                    }
                })
            } catch {
                throw error.diagnostic(at: node.flagLocations[index])
            }
            expander = local
        }
        return mounts
    }
}
