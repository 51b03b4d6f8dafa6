import Testing
@testable import KilnDockerfile

private typealias T = InstructionTestSupport

@Suite struct InstructionTests {
    @Test func fromWithPlatformAndLowercasedName() throws {
        guard case .from(let from) = try T.instruction("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build") else { Issue.record(); return }
        #expect(from.base == "golang:1.22")
        #expect(from.name == "build")
        #expect(from.platform == "$BUILDPLATFORM")
    }

    @Test func runShellAndExecForms() throws {
        guard case .run(let shell) = try T.instruction("RUN echo hi  there") else { Issue.record(); return }
        #expect(shell.command == .shell("echo hi  there"))
        guard case .run(let exec) = try T.instruction(#"RUN ["echo", "hi"]"#) else { Issue.record(); return }
        #expect(exec.command == .exec(["echo", "hi"]))
        #expect(exec.command.arguments() == ["echo", "hi"])
        #expect(shell.command.arguments() == ["/bin/sh", "-c", "echo hi  there"])
    }

    @Test func runNetworkAndSecurity() throws {
        guard case .run(let run) = try T.instruction("RUN --network=NONE --security=insecure make") else { Issue.record(); return }
        #expect(run.network == RunInstruction.Network.none)
        #expect(run.security == .insecure)
    }

    @Test func runCacheMountWithAllOptions() throws {
        guard case .run(let run) = try T.instruction(
            "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1000 pip install x")
        else { Issue.record(); return }
        let mount = try #require(run.mounts.first)
        #expect(mount.type == .cache)
        #expect(mount.target == "/root/.cache")
        #expect(mount.id == "pip")
        #expect(mount.sharing == .locked)
        #expect(mount.mode == 0o755)
        #expect(mount.uid == 1000 && mount.gid == 1000)
        #expect(mount.readOnly == false)
    }

    @Test func runBindMountDefaultsReadOnlyAndAcceptsAliases() throws {
        guard case .run(let run) = try T.instruction(
            "RUN --mount=dst=/src,src=app,from=build --mount=type=bind,destination=/x,rw ls") else { Issue.record(); return }
        #expect(run.mounts.count == 2)
        #expect(run.mounts[0].type == .bind && run.mounts[0].target == "/src" && run.mounts[0].source == "app")
        #expect(run.mounts[0].from == "build" && run.mounts[0].readOnly)
        #expect(run.mounts[1].target == "/x" && !run.mounts[1].readOnly)
    }

    @Test func secretSshAndTmpfsMounts() throws {
        guard case .run(let run) = try T.instruction(
            "RUN --mount=type=secret,id=tok,env=TOKEN,required --mount=type=ssh,required=true --mount=type=tmpfs,target=/t,size=64m true")
        else { Issue.record(); return }
        #expect(run.mounts[0].type == .secret && run.mounts[0].id == "tok" && run.mounts[0].env == "TOKEN" && run.mounts[0].required)
        #expect(run.mounts[0].readOnly)
        #expect(run.mounts[1].type == .ssh && run.mounts[1].required)
        #expect(run.mounts[2].type == .tmpfs && run.mounts[2].size == 64 << 20)
    }

    @Test func mountCSVQuoting() throws {
        #expect(try Mount.csvFields(#"type=bind,"target=/a,b",ro"#) == ["type=bind", "target=/a,b", "ro"])
        #expect(try Mount.csvFields(#""a""b""#) == [#"a"b"#])
    }

    @Test func mountSizes() {
        #expect(Mount.ramInBytes("512") == 512)
        #expect(Mount.ramInBytes("1k") == 1024)
        #expect(Mount.ramInBytes("1.5GiB") == 1_610_612_736)
        #expect(Mount.ramInBytes("lots") == nil)
    }

    @Test func mountWithVariableIsDeferred() throws {
        guard case .run(let run) = try T.instruction("RUN --mount=type=cache,target=$DIR,mode=$MODE true") else { Issue.record(); return }
        #expect(run.mounts[0].target == "$DIR")
        #expect(run.mounts[0].mode == nil)
    }

    @Test func runHeredocAsScript() throws {
        var node = T.node("RUN <<EOF")
        node.heredocs = [Heredoc(name: "EOF", content: "echo hi\n")]
        guard case .run(let run) = try Instruction(node: node) else { Issue.record(); return }
        #expect(run.runsHeredocAsScript)
        var piped = T.node("RUN python3 <<EOF")
        piped.heredocs = [Heredoc(name: "EOF", content: "print(1)\n")]
        guard case .run(let other) = try Instruction(node: piped) else { Issue.record(); return }
        #expect(!other.runsHeredocAsScript)
        #expect(other.heredocs.count == 1)
        #expect(run.effectiveCommand == .shell("echo hi\n") && run.scriptFile == nil)
        #expect(other.effectiveCommand == .shell("python3 <<EOF\nprint(1)\nEOF"))
    }

    @Test func runHeredocWithShebangIsAScriptFile() throws {
        var node = T.node("RUN <<-EOF")
        node.heredocs = [Heredoc(name: "EOF", chomp: true, content: "#!/usr/bin/env python3\n\tprint(1)\n")]
        guard case .run(let run) = try Instruction(node: node) else { Issue.record(); return }
        #expect(run.scriptFile == InlineFile(path: "EOF", content: "#!/usr/bin/env python3\nprint(1)\n", expand: false))
    }

    @Test func copyWithAllFlags() throws {
        guard case .copy(let copy) = try T.instruction(
            "COPY --from=build --chown=app:app --chmod=644 --link --parents --exclude=*.md --exclude=.git a b /dst/")
        else { Issue.record(); return }
        #expect(copy.from == "build" && copy.chown == "app:app" && copy.chmod == "644")
        #expect(copy.link && copy.parents)
        #expect(copy.excludes == ["*.md", ".git"])
        #expect(copy.files.paths == ["a", "b"] && copy.files.destination == "/dst/")
    }

    @Test func copyHeredocBecomesInlineFile() throws {
        var node = T.node("COPY <<-EOF /etc/motd")
        node.heredocs = [Heredoc(name: "EOF", chomp: true, content: "\thello\n\t\tworld\n")]
        guard case .copy(let copy) = try Instruction(node: node) else { Issue.record(); return }
        #expect(copy.files.paths.isEmpty)
        #expect(copy.files.inlineFiles == [InlineFile(path: "EOF", content: "hello\nworld\n", expand: true)])
    }

    @Test func addWithAllFlags() throws {
        guard case .add(let add) = try T.instruction(
            "ADD --chown=1:2 --chmod=755 --link=false --checksum=sha256:abc --keep-git-dir --exclude=x --unpack=false https://x/y.tgz /opt/")
        else { Issue.record(); return }
        #expect(add.chown == "1:2" && add.chmod == "755" && !add.link && add.checksum == "sha256:abc")
        #expect(add.keepGitDir && add.excludes == ["x"] && add.unpack == false)
        guard case .add(let plain) = try T.instruction("ADD a /b") else { Issue.record(); return }
        #expect(plain.unpack == nil)
    }

    @Test func envAndLabelPairsInBothForms() throws {
        guard case .env(let env) = try T.instruction(#"ENV A=1 B="x y""#) else { Issue.record(); return }
        #expect(env.variables == [KeyValuePair(key: "A", value: "1"), KeyValuePair(key: "B", value: #""x y""#)])
        guard case .env(let legacy) = try T.instruction("ENV PATH /usr/bin:/bin") else { Issue.record(); return }
        #expect(legacy.variables == [KeyValuePair(key: "PATH", value: "/usr/bin:/bin")])
        guard case .label(let label) = try T.instruction("LABEL a=b c=d") else { Issue.record(); return }
        #expect(label.labels.map(\.key) == ["a", "c"])
    }

    @Test func argsWithAndWithoutDefaults() throws {
        guard case .arg(let arg) = try T.instruction(#"ARG A B=2 C="x y""#) else { Issue.record(); return }
        #expect(arg.arguments == [.init(name: "A"), .init(name: "B", defaultValue: "2"), .init(name: "C", defaultValue: #""x y""#)])
    }

    @Test func exposePortsParseAfterExpansion() throws {
        guard case .expose(let expose) = try T.instruction("EXPOSE 80 53/UDP 8000-8002/tcp 9/sctp") else { Issue.record(); return }
        let ports = try expose.exposedPorts()
        #expect(ports.map(\.description) == ["80/tcp", "53/udp", "8000-8002/tcp", "9/sctp"])
        #expect(ports[2].configKeys == ["8000/tcp", "8001/tcp", "8002/tcp"])
    }

    @Test(arguments: [
        ("80/quic", "invalid proto: quic"), ("http", "invalid containerPort: http"),
        ("90-80", "invalid range specified for containerPort: 90-80"), ("70000", "invalid containerPort: 70000"),
    ])
    func invalidExposedPorts(word: String, message: String) {
        #expect(throws: ExposedPort.ParseError(message: message)) { try ExposedPort(parsing: word) }
    }

    @Test func userSplitsGroup() throws {
        guard case .user(let user) = try T.instruction("USER app:staff") else { Issue.record(); return }
        #expect(user.userName == "app" && user.group == "staff")
        guard case .user(let bare) = try T.instruction("USER 1000") else { Issue.record(); return }
        #expect(bare.group == nil)
    }

    @Test func simpleInstructions() throws {
        guard case .workdir(let w) = try T.instruction("WORKDIR /app"), w.path == "/app" else { Issue.record(); return }
        guard case .stopSignal(let s) = try T.instruction("STOPSIGNAL SIGQUIT"), s.signal == "SIGQUIT" else { Issue.record(); return }
        guard case .maintainer(let m) = try T.instruction("MAINTAINER Jo <jo@x>"), m.maintainer == "Jo <jo@x>" else { Issue.record(); return }
        guard case .volume(let v) = try T.instruction(#"VOLUME ["/data", "/logs"]"#), v.volumes == ["/data", "/logs"] else { Issue.record(); return }
        guard case .volume(let p) = try T.instruction("VOLUME /a /b"), p.volumes == ["/a", "/b"] else { Issue.record(); return }
        guard case .cmd(let c) = try T.instruction("CMD []"), c.command == .exec([]) else { Issue.record(); return }
        guard case .entrypoint(let e) = try T.instruction(#"ENTRYPOINT ["/init"]"#), e.entrypoint == .exec(["/init"]) else { Issue.record(); return }
        guard case .shell(let sh) = try T.instruction(#"SHELL ["pwsh", "-c"]"#), sh.shell == ["pwsh", "-c"] else { Issue.record(); return }
    }

    @Test func onbuildStoresTriggerText() throws {
        guard case .onbuild(let onbuild) = try T.instruction("ONBUILD RUN echo $HOME") else { Issue.record(); return }
        #expect(onbuild.trigger == "RUN")
        #expect(onbuild.expression == "RUN echo $HOME")
    }

    @Test func healthcheckCommandAndDurations() throws {
        guard case .healthcheck(let h) = try T.instruction(
            "HEALTHCHECK --interval=1m30s --timeout=3s --start-period=0 --start-interval=500ms --retries=3 CMD curl -f http://x/")
        else { Issue.record(); return }
        #expect(h.test == ["CMD-SHELL", "curl -f http://x/"])
        #expect(h.interval == 90_000_000_000 && h.timeout == 3_000_000_000)
        #expect(h.startPeriod == 0 && h.startInterval == 500_000_000 && h.retries == 3)
        guard case .healthcheck(let exec) = try T.instruction(#"HEALTHCHECK CMD ["true"]"#) else { Issue.record(); return }
        #expect(exec.test == ["CMD", "true"])
        guard case .healthcheck(let none) = try T.instruction("HEALTHCHECK NONE") else { Issue.record(); return }
        #expect(none.test == ["NONE"] && none.command == nil)
    }

    @Test(arguments: [("1h", Int64(3_600_000_000_000)), ("1.5s", 1_500_000_000), ("2h45m", 9_900_000_000_000),
                      ("300us", 300_000), ("1µs", 1000), ("-2s", -2_000_000_000), ("0", 0), (".5m", 30_000_000_000)])
    func goDurations(text: String, nanoseconds: Int64) throws {
        #expect(try GoDuration.nanoseconds(text) == nanoseconds)
    }

    @Test(arguments: [("", #"time: invalid duration """#), ("10", #"time: missing unit in duration "10""#),
                      ("3d", #"time: unknown unit "d" in duration "3d""#), ("s", #"time: invalid duration "s""#)])
    func badGoDurations(text: String, message: String) {
        #expect(throws: GoDuration.ParseError(message: message)) { try GoDuration.nanoseconds(text) }
    }

    @Test func suggestionsUseEditDistance() {
        #expect(SpellingSuggestion.closest(to: "RUUN", in: Instruction.keywords) == "RUN")
        #expect(SpellingSuggestion.closest(to: "chwon", in: ["chown", "chmod", "from"]) == "chown")
        #expect(SpellingSuggestion.closest(to: "COPPY", in: Instruction.keywords) == "COPY")
        #expect(SpellingSuggestion.closest(to: "XYZZY", in: Instruction.keywords) == nil)
    }
}
