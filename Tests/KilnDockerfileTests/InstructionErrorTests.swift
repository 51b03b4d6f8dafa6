import Testing
@testable import KilnDockerfile

/// One Dockerfile line that must fail to type, with the first line of its rendered diagnostic.
struct InstructionErrorCase: CustomTestStringConvertible, Sendable {
    var line: String
    var expected: String
    var testDescription: String { line }
}

@Suite struct InstructionErrorTests {
    static let cases: [InstructionErrorCase] = [
        .init(line: "RUUN echo hi", expected: "Dockerfile:1:1: error: unknown instruction: RUUN (did you mean RUN?)"),
        .init(line: "FOO bar", expected: "Dockerfile:1:1: error: unknown instruction: FOO"),
        .init(line: "COPY --chwon=a b c", expected: "Dockerfile:1:6: error: unknown flag: --chwon (did you mean --chown?)"),
        .init(line: "RUN --from=x true", expected: "Dockerfile:1:5: error: flag --from is not valid for RUN (it belongs to COPY)"),
        .init(line: "WORKDIR --chown=1 /x", expected: "Dockerfile:1:9: error: flag --chown is not valid for WORKDIR (it belongs to ADD, COPY)"),
        .init(line: "COPY --link=maybe a b", expected: "Dockerfile:1:6: error: expecting boolean value for flag --link, not: maybe"),
        .init(line: "COPY --link= a b", expected: "Dockerfile:1:6: error: missing a value on flag: --link"),
        .init(line: "COPY --chown a b", expected: "Dockerfile:1:6: error: missing a value on flag: --chown"),
        .init(line: "COPY --from=a --from=b x y", expected: "Dockerfile:1:15: error: duplicate flag specified: --from"),
        .init(line: "COPY onlyone", expected: "Dockerfile:1:1: error: COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        .init(line: "ADD x", expected: "Dockerfile:1:1: error: ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
        .init(line: "FROM", expected: "Dockerfile:1:1: error: FROM requires either one or three arguments"),
        .init(line: "FROM a b", expected: "Dockerfile:1:1: error: FROM requires either one or three arguments"),
        .init(line: "FROM a AS 1st", expected: #"Dockerfile:1:6: error: invalid name for build stage: "1st", name can't start with a number or contain symbols"#),
        .init(line: "FROM a AS b$c", expected: #"Dockerfile:1:6: error: invalid name for build stage: "b$c", name can't start with a number or contain symbols"#),
        .init(line: "RUN --network=bridge true", expected: #"Dockerfile:1:5: error: unsupported network mode "bridge""#),
        .init(line: "RUN --network=hots true", expected: #"Dockerfile:1:5: error: unsupported network mode "hots" (did you mean host?)"#),
        .init(line: "RUN --security=sandboxed true", expected: #"Dockerfile:1:5: error: unsupported security mode "sandboxed" (did you mean sandbox?)"#),
        .init(line: "RUN --mount=type=cahce,target=/x true", expected: #"Dockerfile:1:5: error: unsupported mount type "cahce" (did you mean cache?)"#),
        .init(line: "RUN --mount=type=cache,target=/x,sharing=lock true", expected: #"Dockerfile:1:5: error: unsupported sharing value "lock" (did you mean locked?)"#),
        .init(line: "RUN --mount=type=cache,traget=/x true", expected: "Dockerfile:1:5: error: unexpected key 'traget' in 'traget=/x' (did you mean target?)"),
        .init(line: "RUN --mount=type=bind,target=/x,mode=0700 true", expected: #"Dockerfile:1:5: error: mode not allowed for "bind" type mounts"#),
        .init(line: "RUN --mount=type=tmpfs,target=/x,uid=1 true", expected: #"Dockerfile:1:5: error: uid not allowed for "tmpfs" type mounts"#),
        .init(line: "RUN --mount=type=bind,target=/x,gid=1 true", expected: #"Dockerfile:1:5: error: gid not allowed for "bind" type mounts"#),
        .init(line: "RUN --mount=type=cache,target=/x,mode=999 true", expected: "Dockerfile:1:5: error: invalid value 999 for mode"),
        .init(line: "RUN --mount=type=cache,target=/x,uid=me true", expected: "Dockerfile:1:5: error: invalid value me for uid"),
        .init(line: "RUN --mount=type=bind,target=/x,ro=maybe true", expected: "Dockerfile:1:5: error: invalid value for ro: maybe"),
        .init(line: "RUN --mount=type=bind,target=/x,required true", expected: "Dockerfile:1:5: error: unexpected key 'required' for mount type 'bind'"),
        .init(line: "RUN --mount=type=cache,target=/x,size=1g true", expected: "Dockerfile:1:5: error: unexpected key 'size' for mount type 'cache'"),
        .init(line: "RUN --mount=type=tmpfs,target=/x,size=big true", expected: "Dockerfile:1:5: error: invalid value for size: big"),
        .init(line: "RUN --mount=type=bind,target=/x,env=A true", expected: "Dockerfile:1:5: error: unexpected key 'env' for mount type 'bind'"),
        .init(line: "RUN --mount=type=bind,target=/x,nonsense true", expected: "Dockerfile:1:5: error: invalid field 'nonsense' must be a key=value pair"),
        .init(line: "RUN --mount=type=secret,id=a,from=b true", expected: "Dockerfile:1:5: error: secret mount should not have a from"),
        .init(line: "RUN --mount=type=secret,id=a,sharing=shared true", expected: "Dockerfile:1:5: error: secret mount should not define sharing"),
        .init(line: "RUN --mount=type=secret true", expected: "Dockerfile:1:5: error: invalid secret mount. one of source, target required"),
        .init(line: "RUN --mount=type=secret,src=a,id=b true", expected: "Dockerfile:1:5: error: both source and id can't be set"),
        .init(line: "RUN --mount=type=bind,target=/x,sharing=shared true", expected: "Dockerfile:1:5: error: invalid cache sharing set for bind mount"),
        .init(line: "RUN --mount=type=bind,from=$STAGE,target=/x true", expected: "Dockerfile:1:5: error: 'from' doesn't support variable expansion, define alias stage instead"),
        .init(line: #"RUN --mount="type=cache true"#, expected: #"Dockerfile:1:5: error: failed to parse csv mounts: extraneous or missing " in quoted-field"#),
        .init(line: "HEALTHCHECK", expected: "Dockerfile:1:1: error: HEALTHCHECK requires at least one argument"),
        .init(line: "HEALTHCHECK NONE x", expected: "Dockerfile:1:1: error: HEALTHCHECK NONE takes no arguments"),
        .init(line: "HEALTHCHECK CMND true", expected: #"Dockerfile:1:13: error: unknown type "CMND" in HEALTHCHECK (try CMD) (did you mean CMD?)"#),
        .init(line: "HEALTHCHECK CMD", expected: "Dockerfile:1:1: error: missing command after HEALTHCHECK CMD"),
        .init(line: "HEALTHCHECK --interval=5 CMD true", expected: #"Dockerfile:1:13: error: time: missing unit in duration "5""#),
        .init(line: "HEALTHCHECK --timeout=10us CMD true", expected: #"Dockerfile:1:13: error: interval "timeout" cannot be less than 1ms"#),
        .init(line: "HEALTHCHECK --retries=-1 CMD true", expected: "Dockerfile:1:13: error: --retries cannot be negative (-1)"),
        .init(line: "HEALTHCHECK --retries=x CMD true", expected: "Dockerfile:1:13: error: invalid value for --retries: x"),
        .init(line: "HEALTHCHECK --intervall=1s CMD true", expected: "Dockerfile:1:13: error: unknown flag: --intervall (did you mean --interval?)"),
        .init(line: "SHELL /bin/bash -c", expected: #"Dockerfile:1:7: error: SHELL requires the arguments to be in JSON form (did you mean SHELL ["executable", "parameters"]?)"#),
        .init(line: "SHELL []", expected: "Dockerfile:1:1: error: SHELL requires at least one argument"),
        .init(line: "ONBUILD", expected: "Dockerfile:1:1: error: ONBUILD requires at least one argument"),
        .init(line: "ONBUILD ONBUILD RUN x", expected: "Dockerfile:1:1: error: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        .init(line: "ONBUILD FROM x", expected: "Dockerfile:1:1: error: FROM isn't allowed as an ONBUILD trigger"),
        .init(line: "ONBUILD MAINTAINER x", expected: "Dockerfile:1:1: error: MAINTAINER isn't allowed as an ONBUILD trigger"),
        .init(line: "ENV", expected: "Dockerfile:1:1: error: ENV requires at least one argument"),
        .init(line: "LABEL =x", expected: "Dockerfile:1:7: error: LABEL names can not be blank"),
        .init(line: "ARG", expected: "Dockerfile:1:1: error: ARG requires at least one argument"),
        .init(line: "ARG =x", expected: "Dockerfile:1:5: error: ARG names can not be blank"),
        .init(line: "EXPOSE", expected: "Dockerfile:1:1: error: EXPOSE requires at least one argument"),
        .init(line: "VOLUME", expected: "Dockerfile:1:1: error: VOLUME requires at least one argument"),
        .init(line: #"VOLUME ["/a", " "]"#, expected: "Dockerfile:1:1: error: VOLUME specified can not be an empty string"),
        .init(line: "USER", expected: "Dockerfile:1:1: error: USER requires exactly one argument"),
        .init(line: "WORKDIR", expected: "Dockerfile:1:1: error: WORKDIR requires exactly one argument"),
        .init(line: "STOPSIGNAL", expected: "Dockerfile:1:1: error: STOPSIGNAL requires exactly one argument"),
        .init(line: "MAINTAINER", expected: "Dockerfile:1:1: error: MAINTAINER requires exactly one argument"),
        .init(line: "CMD --foo=bar x", expected: "Dockerfile:1:5: error: unknown flag: --foo"),
    ]

    @Test(arguments: cases)
    func rendersError(_ c: InstructionErrorCase) throws {
        let rendered = try #require(InstructionTestSupport.renderedError(c.line), "expected an error")
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == c.expected)
        // The source line and a caret under the reported column follow.
        #expect(lines.count == 3)
        #expect(lines.dropFirst().first == " 1 | \(c.line)")
    }

    @Test func copyHeredocAsDestinationIsRejected() {
        var node = InstructionTestSupport.node("COPY a <<EOF")
        node.heredocs = [Heredoc(name: "EOF", content: "x\n")]
        #expect(throws: DockerfileError("COPY cannot accept a heredoc as a destination", at: SourceLocation(line: 1, column: 6))) {
            try Instruction(node: node)
        }
    }
}
