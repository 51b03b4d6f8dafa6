import Testing
@testable import KilnDockerfile

/// ARG/ENV scoping and expansion, following the semantics BuildKit documents for ARG, ENV
/// and the predefined ARGs.
@Suite struct ExpansionTests {
    private let amd64 = BuildPlatform(os: "linux", architecture: "amd64")
    private let arm64 = BuildPlatform(os: "linux", architecture: "arm64", variant: "v8")

    private func plan(_ text: String, args: [String: String] = [:], target: String? = nil,
                      images: [String: [String]] = [:]) throws -> BuildPlan {
        try Dockerfile(parsing: text).plan(BuildOptions(
            buildArgs: args, target: target, targetPlatform: arm64, buildPlatform: amd64, imageEnvironment: images))
    }

    /// The resolved instructions of the last planned stage.
    private func steps(_ text: String, args: [String: String] = [:], images: [String: [String]] = [:]) throws -> [ResolvedInstruction] {
        try plan(text, args: args, images: images).stages.last?.instructions ?? []
    }

    /// The environment of the last RUN, without the default `PATH` every stage gets.
    private func runEnvironment(_ text: String, args: [String: String] = [:]) throws -> [String: String]? {
        try steps(text, args: args).last { if case .run = $0.instruction { true } else { false } }?.environment.map(withoutPath)
    }

    private func withoutPath(_ environment: [String: String]) -> [String: String] {
        environment.filter { $0.key != "PATH" }
    }

    private let path = "PATH=" + StageEvaluator.defaultPath

    @Test func globalArgIsVisibleInFromOnly() throws {
        let p = try plan("ARG V=3.20\nFROM alpine:$V\nRUN echo $V")
        #expect(p.stages[0].base == .image("alpine:3.20"))
        #expect(p.stages[0].instructions[0].environment == ["PATH": StageEvaluator.defaultPath])
        #expect(p.stages[0].instructions[0].buildArgs == [:])
        #expect(p.globalArgs["V"] == "3.20")
    }

    @Test func redeclaredArgTakesGlobalValue() throws {
        #expect(try runEnvironment("ARG V=3.20\nFROM alpine\nARG V\nRUN true") == ["V": "3.20"])
    }

    @Test func buildArgBeatsDefaults() throws {
        let p = try plan("ARG V=3.20\nFROM alpine:$V\nARG V\nARG W=w\nRUN true", args: ["V": "3.19", "W": "x"])
        #expect(p.stages[0].base == .image("alpine:3.19"))
        #expect(p.stages[0].instructions.last?.environment.map(withoutPath) == ["V": "3.19", "W": "x"])
    }

    @Test func undeclaredGlobalWithoutValueStaysUnset() throws {
        #expect(try runEnvironment("ARG V\nFROM alpine\nARG V\nRUN true") == [:])
        #expect(try runEnvironment("FROM alpine\nARG X\nRUN true", args: ["X": "5"]) == ["X": "5"])
    }

    @Test func laterAssignmentWinsBetweenEnvAndArg() throws {
        // ENV after ARG: the ENV value (Docker's documented "ENV overrides ARG").
        #expect(try runEnvironment("FROM a\nARG X=arg\nENV X=env\nRUN true", args: ["X": "cli"]) == ["X": "env"])
        // ARG after ENV: BuildKit's AddEnv replaces the value for later steps; the image keeps ENV.
        let p = try plan("FROM a\nENV X=env\nARG X=arg\nWORKDIR /$X\nRUN true")
        #expect(p.stages[0].instructions[3].environment.map(withoutPath) == ["X": "arg"])
        #expect(p.stages[0].environment.imageConfigEnv == [path, "X=env"])
        guard case .workdir(let w) = p.stages[0].instructions[2].instruction else { Issue.record(); return }
        #expect(w.path == "/arg")
        #expect(p.stages[0].instructions[2].buildArgs == ["X": "arg"])
    }

    @Test func envValuesOfOneInstructionSeeThePreviousEnvironment() throws {
        let p = try plan("FROM a\nENV A=1\nENV A=2 B=$A\nENV C=$A")
        #expect(p.stages[0].environment.imageConfigEnv == [path, "A=2", "B=1", "C=2"])
    }

    @Test func argDefaultsExpandInOrder() throws {
        #expect(try runEnvironment("FROM a\nARG A=1\nARG B=${A}0\nRUN true") == ["A": "1", "B": "10"])
        // Within one stage ARG line each default sees the arguments before it.
        #expect(try runEnvironment("FROM a\nARG A=1 B=${A}2\nRUN true") == ["A": "1", "B": "12"])
        // A --build-arg value is used as given, never expanded.
        #expect(try runEnvironment("FROM a\nARG A=1 B\nRUN true", args: ["B": "$A"]) == ["A": "1", "B": "$A"])
        #expect(try plan("ARG A=1\nARG B=$A-2\nFROM x:$B").stages[0].base == .image("x:1-2"))
        // Global ARGs see earlier ones on the same line; a stage ARG line sees the scope before it.
        #expect(try plan("ARG A=1 B=${A}2\nFROM x:$B").stages[0].base == .image("x:12"))
        // A --build-arg replaces the default before it is ever expanded.
        #expect(try plan("ARG A=${NOPE:?unset}\nFROM x:$A", args: ["A": "$B"]).stages[0].base == .image("x:$B"))
    }

    @Test func quotesAreRemovedFromEnvAndLabelValues() throws {
        let p = try plan(#"FROM a"# + "\n" + #"ENV A="x y" B='$A'"# + "\n" + #"LABEL "k 1"="v $A""#)
        #expect(p.stages[0].environment.imageConfigEnv == [path, "A=x y", "B=$A"])
        guard case .label(let label) = p.stages[0].instructions[1].instruction else { Issue.record(); return }
        #expect(label.labels == [KeyValuePair(key: "k 1", value: "v x y")])
    }

    @Test func builderExpandsFileAndMetadataInstructions() throws {
        let s = try steps("""
            FROM a
            ARG U=app G=staff SRC=src DST=/opt P=8080 SIG=TERM MODE=640
            COPY --chown=$U:$G --chmod=$MODE --exclude=$SRC/*.md $SRC/ $DST/
            ADD --chown=$U --checksum=sha256:${P} https://x/$SRC.tgz $DST
            USER $U:$G
            WORKDIR $DST/work
            VOLUME $DST/data
            EXPOSE $P $P/udp
            STOPSIGNAL SIG$SIG
            LABEL v=$P
            """)
        guard case .copy(let copy) = s[1].instruction, case .add(let add) = s[2].instruction,
              case .user(let user) = s[3].instruction, case .workdir(let workdir) = s[4].instruction,
              case .volume(let volume) = s[5].instruction, case .expose(let expose) = s[6].instruction,
              case .stopSignal(let signal) = s[7].instruction, case .label(let label) = s[8].instruction
        else { Issue.record(); return }
        #expect(copy.chown == "app:staff" && copy.chmod == "640" && copy.excludes == ["src/*.md"])
        #expect(copy.files.paths == ["src/"] && copy.files.destination == "/opt/")
        #expect(add.chown == "app" && add.checksum == "sha256:8080" && add.files.paths == ["https://x/src.tgz"])
        #expect(user.userName == "app" && user.group == "staff")
        #expect(workdir.path == "/opt/work" && volume.volumes == ["/opt/data"])
        #expect(try expose.exposedPorts().map(\.description) == ["8080/tcp", "8080/udp"])
        #expect(signal.signal == "SIGTERM" && label.labels[0].value == "8080")
    }

    @Test func shellAndConfigCommandsAreNotExpanded() throws {
        let s = try steps("""
            FROM a
            ARG A=1
            RUN echo $A
            CMD echo $A
            ENTRYPOINT ["echo", "$A"]
            HEALTHCHECK CMD test $A
            SHELL ["/bin/sh", "-c$A"]
            ONBUILD RUN echo $A
            MAINTAINER $A
            """)
        guard case .run(let run) = s[1].instruction, case .cmd(let cmd) = s[2].instruction,
              case .entrypoint(let entrypoint) = s[3].instruction, case .healthcheck(let health) = s[4].instruction,
              case .shell(let shell) = s[5].instruction, case .onbuild(let onbuild) = s[6].instruction,
              case .maintainer(let maintainer) = s[7].instruction
        else { Issue.record(); return }
        #expect(run.command == .shell("echo $A") && cmd.command == .shell("echo $A"))
        #expect(entrypoint.entrypoint == .exec(["echo", "$A"]) && health.test == ["CMD-SHELL", "test $A"])
        #expect(shell.shell == ["/bin/sh", "-c$A"] && onbuild.expression == "RUN echo $A" && maintainer.maintainer == "$A")
    }

    @Test func platformArgsInFromAndWhenDeclared() throws {
        let p = try plan("""
            FROM --platform=$BUILDPLATFORM golang AS build
            WORKDIR /$TARGETARCH
            ARG TARGETARCH TARGETVARIANT
            ARG TARGETPLATFORM BUILDOS
            WORKDIR /$TARGETARCH/$TARGETVARIANT/$TARGETPLATFORM/$BUILDOS
            """)
        #expect(p.stages[0].platform == "linux/amd64")
        guard case .workdir(let before) = p.stages[0].instructions[0].instruction,
              case .workdir(let after) = p.stages[0].instructions[3].instruction else { Issue.record(); return }
        #expect(before.path == "/")
        #expect(after.path == "/arm64/v8/linux/arm64/v8/linux")
    }

    @Test func proxyArgsReachRunWithoutDeclaration() throws {
        let p = try plan("FROM a\nRUN true", args: ["HTTP_PROXY": "http://p:3128", "no_proxy": "local"])
        let run = try #require(p.stages[0].instructions.first)
        #expect(run.proxyEnvironment == ["HTTP_PROXY": "http://p:3128", "no_proxy": "local"])
        #expect(run.environment.map(withoutPath) == [:] && run.buildArgs == [:])
        #expect(p.warnings.isEmpty)
    }

    @Test func unusedBuildArgsAreReported() throws {
        let p = try plan("ARG USED\nFROM a\nARG ALSO\nRUN true", args: ["USED": "1", "ALSO": "2", "NOPE": "3", "ZED": "4"])
        #expect(p.warnings == ["one or more build-args [NOPE ZED] were not consumed"])
    }

    @Test func cacheRelevantBuildArgs() throws {
        let s = try steps("FROM a\nARG A=1\nARG B=2\nCOPY $A /x\nRUN true\nENV A=3\nRUN true", args: ["C": "9"])
        #expect(s[2].buildArgs == ["A": "1"])
        #expect(s[3].buildArgs == ["A": "1", "B": "2"])
        // A later ENV of the same name gives the ARG's key entry its current value.
        #expect(s[5].buildArgs == ["A": "3", "B": "2"])
        #expect(s[5].environment.map(withoutPath) == ["A": "3", "B": "2"])
    }

    @Test func childStageStartsFromTheParentState() throws {
        // BuildKit's child stage continues the parent's state, ARG values included, but
        // declares no ARGs of its own: they are not part of its RUN keys.
        let p = try plan("FROM a AS parent\nARG X=1\nENV Y=2\nFROM parent\nRUN true")
        #expect(p.stages.map(\.index) == [0, 1])
        #expect(p.stages[1].instructions[0].environment.map(withoutPath) == ["X": "1", "Y": "2"])
        #expect(p.stages[1].instructions[0].buildArgs == [:])
        #expect(p.stages[1].environment.imageConfigEnv == [path, "Y=2"])
    }

    @Test func imageEnvironmentSeedsTheStage() throws {
        let p = try plan("FROM alpine\nENV PATH=/x:$PATH\nRUN true", images: ["alpine": ["HOME=/root", "PATH=/bin"]])
        #expect(p.stages[0].instructions[1].environment == ["HOME": "/root", "PATH": "/x:/bin"])
        #expect(p.stages[0].environment.imageConfigEnv == ["HOME=/root", "PATH=/x:/bin"])
    }

    @Test func mountOptionsAreExpanded() throws {
        let s = try steps("FROM a\nARG D=/cache ID=pip\nRUN --mount=type=cache,target=$D,id=$ID,mode=0700 true")
        guard case .run(let run) = s[1].instruction else { Issue.record(); return }
        #expect(run.mounts[0].target == "/cache" && run.mounts[0].id == "pip" && run.mounts[0].mode == 0o700)
    }

    @Test func expandedMountIsValidated() {
        #expect(throws: DockerfileError.self) {
            try plan("FROM a\nARG M=bogus\nRUN --mount=type=$M,target=/x true")
        }
    }

    @Test func heredocSourcesExpandUnlessQuoted() throws {
        let s = try steps("FROM a\nARG A=1\nCOPY <<EOF <<'RAW' /dst/\nv=$A \"q\" '$A'\nEOF\nv=$A\nRAW\n")
        guard case .copy(let copy) = s[1].instruction else { Issue.record(); return }
        #expect(copy.files.inlineFiles.map(\.content) == ["v=1 \"q\" '1'\n", "v=$A\n"])
        #expect(s[1].buildArgs == ["A": "1"])
    }

    @Test func expansionErrorsPointAtTheInstruction() {
        do throws(DockerfileError) {
            _ = try Dockerfile(parsing: "FROM a\nWORKDIR ${DIR:?is required}").plan()
            Issue.record("expected an error")
        } catch {
            #expect(error.rendered(fileName: "Dockerfile").hasPrefix("Dockerfile:2:1: error: "))
            #expect(error.sourceLine == "WORKDIR ${DIR:?is required}")
        }
    }

    @Test func exposeIsValidatedAfterExpansion() {
        #expect(throws: DockerfileError("invalid containerPort: abc", at: SourceLocation(line: 3, column: 8), sourceLine: "EXPOSE $P")) {
            try plan("FROM a\nARG P=abc\nEXPOSE $P")
        }
    }

    @Test(arguments: ["SIGTERM", "term", "9", "SIGRTMIN+3", "sigusr1"])
    func validStopSignals(signal: String) throws {
        _ = try plan("FROM a\nARG S=\(signal)\nSTOPSIGNAL $S")
    }

    @Test func invalidStopSignalAfterExpansion() {
        #expect(throws: DockerfileError("invalid signal: SIGTREM", at: SourceLocation(line: 3, column: 12), sourceLine: "STOPSIGNAL SIG$S",
                                        suggestion: "SIGTERM")) {
            try plan("FROM a\nARG S=TREM\nSTOPSIGNAL SIG$S")
        }
        #expect(throws: DockerfileError.self) { try plan("FROM a\nSTOPSIGNAL 0") }
    }

    @Test func stagesOutsideTheTargetAreNotEvaluated() throws {
        let p = try plan("FROM a AS broken\nEXPOSE $NOPE/x\nFROM b AS ok\nRUN true", target: "ok")
        #expect(p.stages.map(\.index) == [1])
    }
}
